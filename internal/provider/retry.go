package provider

import (
	"strconv"
	"time"

	esv1 "github.com/secretbridge/secretbridge/api/v1"
)

// RetrySettings reads spec.retrySettings, shared by every provider: how many
// times a throttled or unavailable call is retried (-1 when maxRetries is
// unset: the provider's default) and the wait between attempts (0 when
// retryInterval is unset: the provider's default backoff). retryInterval is a
// Go duration ("500ms", "10s") or, as upstream also accepts, a bare number of
// seconds. Negative values are configuration errors naming the field.
func RetrySettings(rs *esv1.SecretStoreRetrySettings) (retries int, wait time.Duration, err error) {
	retries = -1
	if rs == nil {
		return retries, 0, nil
	}
	if rs.MaxRetries != nil {
		if *rs.MaxRetries < 0 {
			return 0, 0, NewConfigError("spec.retrySettings.maxRetries", "%d is negative", *rs.MaxRetries)
		}
		retries = int(*rs.MaxRetries)
	}
	if rs.RetryInterval != nil {
		s := *rs.RetryInterval
		if n, convErr := strconv.Atoi(s); convErr == nil {
			wait = time.Duration(n) * time.Second
		} else if wait, err = time.ParseDuration(s); err != nil {
			return 0, 0, &ConfigError{Field: "spec.retrySettings.retryInterval", Err: err}
		}
		if wait < 0 {
			return 0, 0, NewConfigError("spec.retrySettings.retryInterval", "%q is negative", s)
		}
	}
	return retries, wait, nil
}
