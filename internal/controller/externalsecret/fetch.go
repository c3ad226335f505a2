package externalsecret

import (
	"context"
	"errors"
	"fmt"
	"strings"

	esv1 "github.com/secretbridge/secretbridge/api/v1"
	"github.com/secretbridge/secretbridge/internal/provider"
	"github.com/secretbridge/secretbridge/internal/shape"
)

// clientFor returns the provider client for the store an entry reads from
// (nil override: spec.secretStoreRef).
type clientFor func(ctx context.Context, override *esv1.SecretStoreRef) (provider.Client, error)

// fetched is the data a sync produced before templating, and whether any
// remote secret was missing.
type fetched struct {
	data map[string][]byte
	// missing counts entries whose remote secret does not exist, skipped
	// because deletionPolicy Delete or Merge allows it.
	missing int
}

// fetchData reads every dataFrom and data entry through its store's client
// and shapes the values: dataFrom entries merge in order, then data entries
// override them. A missing remote secret fails the sync under deletionPolicy
// Retain; under Delete and Merge the entry contributes nothing.
func fetchData(ctx context.Context, es *esv1.ExternalSecret, clients clientFor) (fetched, error) {
	out := fetched{data: map[string][]byte{}}
	tolerateMissing := es.Spec.TargetOrDefault().DeletionPolicyOrDefault() != esv1.DeletionPolicyRetain
	for i, entry := range es.Spec.DataFrom {
		field := fmt.Sprintf("spec.dataFrom[%d]", i)
		data, err := fetchDataFrom(ctx, entry, clients)
		if tolerateMissing && provider.IsNotFound(err) {
			out.missing++
			continue
		}
		if err != nil {
			return out, fmt.Errorf("%s: %w", field, err)
		}
		shape.Merge(out.data, data)
	}
	for i, entry := range es.Spec.Data {
		field := fmt.Sprintf("spec.data[%d] (secretKey %q)", i, entry.SecretKey)
		value, err := fetchDataEntry(ctx, entry, clients)
		if tolerateMissing && provider.IsNotFound(err) {
			out.missing++
			continue
		}
		if err != nil {
			return out, fmt.Errorf("%s: %w", field, err)
		}
		out.data[entry.SecretKey] = value
	}
	return out, nil
}

// wholeSecret is ref without a property: providers return the whole remote
// secret and the engine selects the property, so that entries reading
// different properties of one secret share one provider call.
func wholeSecret(ref esv1.ExternalSecretDataRemoteRef) esv1.ExternalSecretDataRemoteRef {
	ref.Property = ""
	return ref
}

// fetchDataEntry reads one data[] entry: fetch, select the property, decode,
// check null bytes.
func fetchDataEntry(ctx context.Context, entry esv1.ExternalSecretData, clients clientFor) ([]byte, error) {
	if entry.SourceRef != nil && entry.SourceRef.GeneratorRef != nil {
		return nil, &provider.ConfigError{Field: "sourceRef.generatorRef", Err: errors.New("generators are not supported yet; read the value from a store instead")}
	}
	var override *esv1.SecretStoreRef
	if entry.SourceRef != nil {
		override = entry.SourceRef.SecretStoreRef
	}
	c, err := clients(ctx, override)
	if err != nil {
		return nil, err
	}
	ref := entry.RemoteRef
	var value []byte
	if provider.ResolvesProperty(c) {
		// The provider gives property a meaning of its own.
		if value, err = c.GetSecret(ctx, ref); err != nil {
			return nil, fmt.Errorf("reading key %q: %w", ref.Key, err)
		}
	} else {
		raw, err := c.GetSecret(ctx, wholeSecret(ref))
		if err != nil {
			return nil, fmt.Errorf("reading key %q: %w", ref.Key, err)
		}
		if value, err = property(ctx, raw, ref); err != nil {
			return nil, fmt.Errorf("key %q: %w", ref.Key, err)
		}
	}
	if value, err = shape.Decode(entry.SecretKey, ref.DecodingStrategyOrDefault(), value); err != nil {
		return nil, err
	}
	return value, shape.CheckNullBytes(ref.NullBytePolicyOrDefault(), entry.SecretKey, value)
}

// fetchDataFrom reads one dataFrom[] entry (extract or find), then rewrites or
// converts its key names, validates them and decodes the values.
func fetchDataFrom(ctx context.Context, entry esv1.ExternalSecretDataFromRemoteRef, clients clientFor) (map[string][]byte, error) {
	var override *esv1.SecretStoreRef
	if entry.SourceRef != nil {
		if entry.SourceRef.GeneratorRef != nil {
			return nil, &provider.ConfigError{Field: "sourceRef.generatorRef", Err: errors.New("generators are not supported yet; read the values from a store instead")}
		}
		override = entry.SourceRef.SecretStoreRef
	}
	c, err := clients(ctx, override)
	if err != nil {
		return nil, err
	}
	var (
		data       map[string][]byte
		conversion esv1.ExternalSecretConversionStrategy
		decoding   esv1.ExternalSecretDecodingStrategy
		nullBytes  esv1.ExternalSecretNullBytePolicy
	)
	switch {
	case entry.Extract != nil:
		ref := *entry.Extract
		conversion, decoding, nullBytes = ref.ConversionStrategyOrDefault(), ref.DecodingStrategyOrDefault(), ref.NullBytePolicyOrDefault()
		if ref.Property == "" || provider.ResolvesProperty(c) {
			data, err = c.GetSecretMap(ctx, ref)
		} else {
			var raw []byte
			if raw, err = c.GetSecret(ctx, wholeSecret(ref)); err == nil {
				if raw, err = property(ctx, raw, ref); err == nil {
					data, err = shape.Extract(raw)
				}
			}
		}
		if err != nil {
			return nil, fmt.Errorf("extract of key %q: %w", ref.Key, err)
		}
	case entry.Find != nil:
		find := *entry.Find
		conversion, decoding, nullBytes = find.ConversionStrategyOrDefault(), find.DecodingStrategyOrDefault(), find.NullBytePolicyOrDefault()
		if data, err = c.GetAllSecrets(ctx, find); err != nil {
			return nil, fmt.Errorf("find: %w", err)
		}
	default:
		return nil, &provider.ConfigError{Field: "extract", Err: errors.New("set extract, find or sourceRef.generatorRef")}
	}
	if len(entry.Rewrite) > 0 {
		data, err = shape.Rewrite(entry.Rewrite, data)
	} else {
		data, err = shape.ConvertKeys(conversion, data)
	}
	if err != nil {
		return nil, err
	}
	if err := shape.ValidateKeys(data); err != nil {
		return nil, err
	}
	if data, err = shape.DecodeMap(decoding, data); err != nil {
		return nil, err
	}
	return data, shape.CheckNullBytesMap(nullBytes, data)
}

// property selects ref.Property from a fetched secret. A property written as
// a path into Vault's KV v2 API response ("data.username") is not found in
// the secret's own keys; it then resolves the rest ("username") and records
// the interpretation as a warning.
func property(ctx context.Context, raw []byte, ref esv1.ExternalSecretDataRemoteRef) ([]byte, error) {
	value, err := shape.Property(raw, ref.Property)
	var nf *shape.PropertyNotFoundError
	rest, isAPIPath := strings.CutPrefix(ref.Property, "data.")
	if errors.As(err, &nf) && isAPIPath && rest != "" {
		if v, err2 := shape.Property(raw, rest); err2 == nil {
			provider.Warn(ctx, fmt.Sprintf("key %q: property %q read as %q (properties are relative to the secret's own keys, not to the KV v2 API response)", ref.Key, ref.Property, rest))
			return v, nil
		}
	}
	return value, err
}
