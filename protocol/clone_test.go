package protocol

import (
	"reflect"
	"testing"
)

// fill sets every field reachable from v to a non-zero value: pointers
// allocated, slices and maps of two elements. It covers fields added to the
// configuration types later.
func fill(v reflect.Value, n *int) {
	*n++
	switch v.Kind() {
	case reflect.Bool:
		v.SetBool(true)
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		v.SetInt(int64(*n))
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		v.SetUint(uint64(*n))
	case reflect.Float32, reflect.Float64:
		v.SetFloat(float64(*n) + 0.5)
	case reflect.String:
		v.SetString("s" + itoa(*n))
	case reflect.Pointer:
		v.Set(reflect.New(v.Type().Elem()))
		fill(v.Elem(), n)
	case reflect.Slice:
		v.Set(reflect.MakeSlice(v.Type(), 2, 2))
		for i := range 2 {
			fill(v.Index(i), n)
		}
	case reflect.Map:
		v.Set(reflect.MakeMap(v.Type()))
		for range 2 {
			k, e := reflect.New(v.Type().Key()).Elem(), reflect.New(v.Type().Elem()).Elem()
			fill(k, n)
			fill(e, n)
			v.SetMapIndex(k, e)
		}
	case reflect.Struct:
		for i := range v.NumField() {
			if v.Type().Field(i).IsExported() {
				fill(v.Field(i), n)
			}
		}
	}
}

// checkNoAlias fails if a and b share a pointer target or a slice array.
func checkNoAlias(t *testing.T, a, b reflect.Value, path string) {
	t.Helper()
	switch a.Kind() {
	case reflect.Pointer:
		if a.IsNil() {
			return
		}
		if a.Pointer() == b.Pointer() {
			t.Errorf("%s: clone shares the pointer", path)
		}
		checkNoAlias(t, a.Elem(), b.Elem(), path)
	case reflect.Slice:
		if a.Len() == 0 {
			return
		}
		if a.Pointer() == b.Pointer() {
			t.Errorf("%s: clone shares the slice", path)
		}
		for i := range a.Len() {
			checkNoAlias(t, a.Index(i), b.Index(i), path+"["+itoa(i)+"]")
		}
	case reflect.Map:
		if a.Len() > 0 && a.Pointer() == b.Pointer() {
			t.Errorf("%s: clone shares the map", path)
		}
	case reflect.Struct:
		for i := range a.NumField() {
			if a.Type().Field(i).IsExported() {
				checkNoAlias(t, a.Field(i), b.Field(i), path+"."+a.Type().Field(i).Name)
			}
		}
	}
}

func TestReplicaConfigClone(t *testing.T) {
	var c ReplicaConfig
	n := 0
	fill(reflect.ValueOf(&c).Elem(), &n)
	d := c.Clone()
	if !reflect.DeepEqual(&c, d) {
		t.Fatalf("clone differs:\n%+v\n%+v", c, *d)
	}
	checkNoAlias(t, reflect.ValueOf(&c).Elem(), reflect.ValueOf(d).Elem(), "config")

	v := validConfig()
	w := v.Clone()
	*w.Method.Hidden.Tau = 99
	w.Model.Hidden[0] = 7
	if *v.Method.Hidden.Tau != 1e-4 || v.Model.Hidden[0] != 100 {
		t.Error("changing the clone changed the original")
	}
	if (*ReplicaConfig)(nil).Clone() != nil {
		t.Error("Clone(nil) is not nil")
	}
	// nil and empty slices are kept apart.
	e := ReplicaConfig{Model: ModelConfig{Hidden: []int{}}}
	if f := e.Clone(); f.Model.Hidden == nil || f.Data.Digits != nil {
		t.Errorf("clone of empty/nil slices: %#v, %#v", f.Model.Hidden, f.Data.Digits)
	}
}
