package config

import (
	"reflect"
)

// Variable describes one environment variable the service reads.
type Variable struct {
	Name    string
	Default string
	Secret  bool
}

// Variables lists every environment variable of Config, read from the
// struct tags, so docs and deployment files can be checked against it.
func Variables() []Variable {
	return collect(reflect.TypeOf(Config{}), Prefix+"_")
}

func collect(t reflect.Type, prefix string) []Variable {
	var out []Variable
	secretType := reflect.TypeOf(Secret(""))
	for i := range t.NumField() {
		f := t.Field(i)
		name := prefix + f.Tag.Get("envconfig")
		if f.Type.Kind() == reflect.Struct {
			out = append(out, collect(f.Type, name+"_")...)
			continue
		}
		out = append(out, Variable{Name: name, Default: f.Tag.Get("default"), Secret: f.Type == secretType})
	}
	return out
}
