package cli

import (
	"errors"
	"fmt"

	"github.com/spf13/pflag"

	"github.com/gitgate/gitgate/provenance"
)

// compareOptions are serve's comparison flags, for the client commands.
type compareOptions struct {
	fields      string
	ignores     []string
	ignoreFile  string
	ignoreRules []provenance.IgnoreRule
}

func (o *compareOptions) BindFlags(fs *pflag.FlagSet) {
	fs.StringVar(&o.fields, "fields", string(provenance.FieldsStrict), "As serve's --fields: strict or declared.")
	fs.StringArrayVar(&o.ignores, "ignore", nil, "As serve's --ignore; repeatable.")
	fs.StringVar(&o.ignoreFile, "ignore-file", "", "As serve's --ignore-file.")
}

// Validate checks --fields and reads the ignore rules.
func (o *compareOptions) Validate() error {
	var errs []error
	if f := provenance.FieldMode(o.fields); f != provenance.FieldsStrict && f != provenance.FieldsDeclared {
		errs = append(errs, fmt.Errorf("--fields must be strict or declared, got %q", o.fields))
	}
	var err error
	o.ignoreRules, err = ignoreRules(o.ignoreFile, o.ignores)
	return errors.Join(append(errs, err)...)
}

// ignoreRules reads --ignore-file and parses each --ignore, as serve and
// the client commands take them, and compiles the lot once, so every
// invalid rule is reported together.
func ignoreRules(file string, flags []string) ([]provenance.IgnoreRule, error) {
	var rules []provenance.IgnoreRule
	var errs []error
	if file != "" {
		fromFile, err := readIgnoreFile(file)
		errs = append(errs, err)
		rules = append(rules, fromFile...)
	}
	for _, v := range flags {
		r, err := provenance.ParseIgnoreFlag(v)
		if err != nil {
			errs = append(errs, fmt.Errorf("--ignore: %w", err))
			continue
		}
		rules = append(rules, r)
	}
	if _, err := provenance.CompileIgnores(rules); err != nil {
		errs = append(errs, err)
	}
	return rules, errors.Join(errs...)
}

func (o *compareOptions) compiled() (*provenance.Ignores, error) {
	return provenance.CompileIgnores(o.ignoreRules)
}

// checker is the person's checker serve builds from the same flags.
func (o *compareOptions) checker() (*provenance.Checker, error) {
	ignores, err := o.compiled()
	if err != nil {
		return nil, err
	}
	return &provenance.Checker{Fields: provenance.FieldMode(o.fields), Ignores: ignores}, nil
}

func joinErrs(errs ...error) error { return errors.Join(errs...) }
