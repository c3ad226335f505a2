// Package shape turns values fetched from a secret provider into the data of
// the target Kubernetes Secret. Everything here is a pure function of its
// arguments: no Kubernetes client, no provider, no clock except where a
// template function asks for one (Sprig's now, date and random helpers).
//
// # Order of operations
//
// The caller (the ExternalSecret controller) applies the steps in this order,
// which is the order of upstream External Secrets Operator:
//
// For each spec.data[] entry:
//
//  1. fetch remoteRef.key; select remoteRef.property with [Property];
//  2. decode the value with [Decode] (decodingStrategy);
//  3. check it with [CheckNullBytes] (nullBytePolicy).
//
// For each spec.dataFrom[] entry (extract, find or a generator):
//
//  1. fetch; for extract, split the JSON object into keys with [Extract]
//     (after [Property] when extract.property is set);
//  2. rewrite the key names with [Rewrite] (rewrite[]); when the entry has no
//     rewrite, convert them with [ConvertKeys] (conversionStrategy) instead;
//     upstream applies the conversion only when there is no rewrite, and so
//     do we;
//  3. check the key names with [ValidateKeys];
//  4. decode the values with [DecodeMap] and check them with
//     [CheckNullBytesMap].
//
// Then merge: dataFrom entries in order, later entries overriding earlier
// ones, then data[] entries over all of them ([Merge] does one step). Last,
// [Render] applies spec.target.template (type, labels, annotations, data,
// templateFrom and mergePolicy) and yields the Secret's data, labels,
// annotations and type.
//
// Decoding only touches values and conversion and rewrite only touch key
// names, so their relative order matters in one place only: a merge rewrite
// parses values as JSON and therefore sees them before decoding.
//
// # Errors never carry secret data
//
// No error returned by this package contains a fetched value, a template's
// output or a fragment of either. Errors name the key, the template location
// and the kind of failure. Errors of the underlying libraries that may quote
// their input (text/template execution, JSON, YAML, base64, PKCS#12, JWK) are
// replaced by such descriptions; details that could echo data are withheld.
package shape
