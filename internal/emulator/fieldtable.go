package emulator

// A requestField is one top-level field of a create or update request:
// read with its JSON type's reader and, when present, checked and stored
// onto the object by its setter. The companies and contacts handlers each
// apply one table of them, in order.
type requestField[T any] struct {
	name  string
	apply func(s *Server, f fields, obj *T) *apiError
}

// stringField is a field of JSON type string (null: "").
func stringField[T any](name string, set func(s *Server, obj *T, v string) *apiError) requestField[T] {
	return requestField[T]{name, func(s *Server, f fields, obj *T) *apiError {
		v, ok, err := f.str(name)
		if err != nil || !ok {
			return err
		}
		return set(s, obj, v)
	}}
}

// integerField is a field of JSON type number, truncated to an integer
// (null: 0).
func integerField[T any](name string, set func(s *Server, obj *T, v int64) *apiError) requestField[T] {
	return requestField[T]{name, func(s *Server, f fields, obj *T) *apiError {
		v, ok, err := f.integer(name)
		if err != nil || !ok {
			return err
		}
		return set(s, obj, v)
	}}
}

// booleanField is a field of JSON type boolean.
func booleanField[T any](name string, set func(s *Server, obj *T, v bool) *apiError) requestField[T] {
	return requestField[T]{name, func(s *Server, f fields, obj *T) *apiError {
		v, ok, err := f.boolean(name)
		if err != nil || !ok {
			return err
		}
		return set(s, obj, v)
	}}
}

// customAttributesField is custom_attributes of model, checked against the
// workspace's data attributes and merged key by key.
func customAttributesField[T any](model string, of func(obj *T) *map[string]any) requestField[T] {
	return requestField[T]{"custom_attributes", func(s *Server, f fields, obj *T) *apiError {
		attrs, ok, err := f.attrs("custom_attributes")
		if err != nil || !ok {
			return err
		}
		if err := s.checkCustomAttributes(model, attrs); err != nil {
			return err
		}
		dst := of(obj)
		*dst = mergeAttrs(*dst, attrs)
		return nil
	}}
}

// applyFields applies each field of table present in f onto obj, in the
// table's order; it stops at the first refusal.
func applyFields[T any](s *Server, f fields, obj *T, table []requestField[T]) *apiError {
	for _, field := range table {
		if err := field.apply(s, f, obj); err != nil {
			return err
		}
	}
	return nil
}

// set wraps a setter that cannot refuse its value.
func set[T, V any](store func(obj *T, v V)) func(*Server, *T, V) *apiError {
	return func(_ *Server, obj *T, v V) *apiError {
		store(obj, v)
		return nil
	}
}
