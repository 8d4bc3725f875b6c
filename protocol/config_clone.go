package protocol

import "reflect"

// Clone returns a deep copy of c: no pointer, slice or map of the copy
// shares memory with c, so either may be changed without affecting the
// other. Clone of nil is nil. It copies by reflection, so that it stays deep
// when fields are added to the configuration types.
func (c *ReplicaConfig) Clone() *ReplicaConfig {
	if c == nil {
		return nil
	}
	d := new(ReplicaConfig)
	deepCopy(reflect.ValueOf(d).Elem(), reflect.ValueOf(c).Elem())
	return d
}

// deepCopy sets dst, which is settable and of src's type, to a deep copy of
// src. nil pointers, slices and maps stay nil; empty ones stay empty.
func deepCopy(dst, src reflect.Value) {
	switch src.Kind() {
	case reflect.Pointer:
		if !src.IsNil() {
			p := reflect.New(src.Type().Elem())
			deepCopy(p.Elem(), src.Elem())
			dst.Set(p)
		}
	case reflect.Interface:
		if !src.IsNil() {
			v := reflect.New(src.Elem().Type()).Elem()
			deepCopy(v, src.Elem())
			dst.Set(v)
		}
	case reflect.Slice:
		if !src.IsNil() {
			s := reflect.MakeSlice(src.Type(), src.Len(), src.Len())
			for i := range src.Len() {
				deepCopy(s.Index(i), src.Index(i))
			}
			dst.Set(s)
		}
	case reflect.Array:
		for i := range src.Len() {
			deepCopy(dst.Index(i), src.Index(i))
		}
	case reflect.Map:
		if !src.IsNil() {
			m := reflect.MakeMapWithSize(src.Type(), src.Len())
			for it := src.MapRange(); it.Next(); {
				v := reflect.New(src.Type().Elem()).Elem()
				deepCopy(v, it.Value())
				m.SetMapIndex(it.Key(), v)
			}
			dst.Set(m)
		}
	case reflect.Struct:
		dst.Set(src) // unexported fields, if any, are copied shallowly
		for i := range src.NumField() {
			if src.Type().Field(i).IsExported() {
				deepCopy(dst.Field(i), src.Field(i))
			}
		}
	default:
		dst.Set(src)
	}
}
