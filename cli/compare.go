package cli

import (
	"errors"
	"fmt"
	"os"

	"github.com/spf13/pflag"
	"sigs.k8s.io/yaml"

	"github.com/gitgate/gitgate/provenance"
)

// compareOptions are the comparison flags: which fields are protected and
// which may hold any value. serve, check and drift take them alike.
type compareOptions struct {
	fields     string
	ignores    []string
	ignoreFile string
	// compiled are the built-in and user ignore rules, compiled once by
	// Validate for every checker the command builds; rules are the user's.
	compiled *provenance.Ignores
	rules    []provenance.IgnoreRule
}

// compareUsage is the help of the comparison flags: serve's explains
// them, the client commands refer to serve's.
type compareUsage struct{ fields, ignore, ignoreFile string }

var (
	serveCompareUsage = compareUsage{
		fields:     "Which fields are protected: strict (every field; changes outside Git's declared fields are denied) or declared (only the fields Git declares).",
		ignore:     "Ignore rule group/Kind[:namespace/name]=/json/pointer[,/pointer]; the fields may hold any value. Repeatable. Example: apps/Deployment=/spec/replicas.",
		ignoreFile: "YAML file with a list of ignore rules (group, kind, namespace, name, jsonPointers).",
	}
	clientCompareUsage = compareUsage{
		fields:     "As serve's --fields: strict or declared.",
		ignore:     "As serve's --ignore; repeatable.",
		ignoreFile: "As serve's --ignore-file.",
	}
)

func (o *compareOptions) BindFlags(fs *pflag.FlagSet, u compareUsage) {
	fs.StringVar(&o.fields, "fields", string(provenance.FieldsStrict), u.fields)
	fs.StringArrayVar(&o.ignores, "ignore", nil, u.ignore)
	fs.StringVar(&o.ignoreFile, "ignore-file", "", u.ignoreFile)
}

// Validate checks --fields and compiles the ignore rules.
func (o *compareOptions) Validate() error {
	return errors.Join(o.validateFields(), o.compileIgnores())
}

func (o *compareOptions) validateFields() error {
	if f := provenance.FieldMode(o.fields); f != provenance.FieldsStrict && f != provenance.FieldsDeclared {
		return fmt.Errorf("--fields must be strict or declared, got %q", o.fields)
	}
	return nil
}

// compileIgnores reads --ignore-file and parses each --ignore, and
// compiles the lot once, so every invalid rule is reported together.
func (o *compareOptions) compileIgnores() error {
	var rules []provenance.IgnoreRule
	var errs []error
	if o.ignoreFile != "" {
		fromFile, err := readIgnoreFile(o.ignoreFile)
		errs = append(errs, err)
		rules = append(rules, fromFile...)
	}
	for _, v := range o.ignores {
		r, err := provenance.ParseIgnoreFlag(v)
		if err != nil {
			errs = append(errs, fmt.Errorf("--ignore: %w", err))
			continue
		}
		rules = append(rules, r)
	}
	compiled, err := provenance.CompileIgnores(rules)
	if err != nil {
		errs = append(errs, err)
	}
	o.compiled, o.rules = compiled, rules
	return errors.Join(errs...)
}

func readIgnoreFile(path string) ([]provenance.IgnoreRule, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("--ignore-file: %w", err)
	}
	var rules []provenance.IgnoreRule
	if err := yaml.UnmarshalStrict(data, &rules); err != nil {
		return nil, fmt.Errorf("--ignore-file %s: %w", path, err)
	}
	return rules, nil
}

// checker is the person's checker serve builds from the same flags.
func (o *compareOptions) checker() *provenance.Checker {
	return &provenance.Checker{Fields: provenance.FieldMode(o.fields), Ignores: o.compiled}
}

// checkerFor is checker with the rules of the source itself added (a
// HelmRelease's driftDetection.ignore, the fields its chart renders
// differently every time).
func (o *compareOptions) checkerFor(src *loadedSource) (*provenance.Checker, error) {
	c := o.checker()
	if len(src.Ignores) == 0 {
		return c, nil
	}
	compiled, err := provenance.CompileIgnores(append(append([]provenance.IgnoreRule(nil), o.rules...), src.Ignores...))
	if err != nil {
		return nil, fmt.Errorf("ignore rules of %s: %w", src.Repo, err)
	}
	c.Ignores = compiled
	return c, nil
}
