package webhook

import (
	admissionv1 "k8s.io/api/admission/v1"
	authenticationv1 "k8s.io/api/authentication/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/webhook/admission"

	"github.com/gitgate/gitgate/internal/jsonscan"
)

// readReview reads an admission.k8s.io/v1 AdmissionReview in one pass:
// the request's fields as the API server's own decoder (controller-runtime's,
// through sigs.k8s.io/json) reads them, object and oldObject as slices of
// body, not copies. It reports false for anything else, and for anything
// it might read differently: a malformed body, another apiVersion, a key
// given twice, a value of an unexpected type. The caller then serves the
// request with controller-runtime's decoder, whose answer is the
// reference (TestReadReviewMatchesReference, FuzzReadReview).
func readReview(body []byte) (admission.Request, bool) {
	var req admission.Request
	s := jsonscan.Scanner{B: body}
	var seen fieldSet
	ok := s.Object(func(key []byte) bool {
		switch string(key) {
		case "apiVersion":
			return seen.first(0) && s.Peek() == '"' && stringIs(&s, admissionv1.SchemeGroupVersion.String())
		case "kind":
			return seen.first(1) && s.Peek() == '"' && stringIs(&s, "AdmissionReview")
		case "request":
			return seen.first(2) && readRequest(&s, &req.AdmissionRequest)
		}
		return false // "Kind", "response" or a stranger: the reference decides
	})
	if !ok || !s.AtEnd() || !seen.has(0) || !seen.has(1) || !seen.has(2) || req.UID == "" {
		return admission.Request{}, false
	}
	return req, true
}

// fieldSet remembers which fields of one object were read, so a key given
// twice goes to the reference decoder.
type fieldSet uint32

func (f *fieldSet) first(i uint) bool {
	if *f&(1<<i) != 0 {
		return false
	}
	*f |= 1 << i
	return true
}

func (f fieldSet) has(i uint) bool { return f&(1<<i) != 0 }

func stringIs(s *jsonscan.Scanner, want string) bool {
	v, ok := s.StringBytes()
	return ok && string(v) == want
}

// readRequest reads an AdmissionRequest; a null value leaves a field
// zero, as encoding/json does.
func readRequest(s *jsonscan.Scanner, r *admissionv1.AdmissionRequest) bool {
	var seen fieldSet
	return s.Object(func(key []byte) bool {
		i, known := requestFields[string(key)]
		if !known {
			_, ok := s.Skip()
			return ok
		}
		if !seen.first(i) {
			return false
		}
		if s.Null() {
			return true
		}
		return readRequestField(s, r, i)
	})
}

// requestFields number the fields of an AdmissionRequest.
var requestFields = map[string]uint{
	"uid": 0, "kind": 1, "resource": 2, "subResource": 3, "requestKind": 4, "requestResource": 5,
	"requestSubResource": 6, "name": 7, "namespace": 8, "operation": 9, "userInfo": 10,
	"object": 11, "oldObject": 12, "dryRun": 13, "options": 14,
}

func readRequestField(s *jsonscan.Scanner, r *admissionv1.AdmissionRequest, i uint) bool {
	switch i {
	case 0:
		return readString(s, (*string)(&r.UID))
	case 1:
		return readGVK(s, &r.Kind)
	case 2:
		return readGVR(s, &r.Resource)
	case 3:
		return readString(s, &r.SubResource)
	case 4:
		r.RequestKind = &metav1.GroupVersionKind{}
		return readGVK(s, r.RequestKind)
	case 5:
		r.RequestResource = &metav1.GroupVersionResource{}
		return readGVR(s, r.RequestResource)
	case 6:
		return readString(s, &r.RequestSubResource)
	case 7:
		return readString(s, &r.Name)
	case 8:
		return readString(s, &r.Namespace)
	case 9:
		return readString(s, (*string)(&r.Operation))
	case 10:
		return readUserInfo(s, &r.UserInfo)
	case 11:
		return readRaw(s, &r.Object.Raw)
	case 12:
		return readRaw(s, &r.OldObject.Raw)
	case 13:
		return readBool(s, &r.DryRun)
	default:
		return readRaw(s, &r.Options.Raw)
	}
}

func readString(s *jsonscan.Scanner, v *string) bool {
	b, ok := s.StringBytes()
	*v = string(b)
	return ok
}

func readBool(s *jsonscan.Scanner, v **bool) bool {
	var b bool
	switch {
	case s.Literal("true"):
		b = true
	case s.Literal("false"):
	default:
		return false
	}
	*v = &b
	return true
}

// readRaw keeps the bytes of an object, as runtime.RawExtension does, but
// as a slice of the body. Only an object is taken: the reference decides
// about anything else.
func readRaw(s *jsonscan.Scanner, raw *[]byte) bool {
	if s.Peek() != '{' {
		return false
	}
	v, ok := s.Skip()
	*raw = v
	return ok
}

// readStrings reads named string fields of an object into the pointers
// of fields, in order; an unknown key is skipped.
func readStrings(s *jsonscan.Scanner, names []string, fields ...*string) bool {
	var seen fieldSet
	return s.Object(func(key []byte) bool {
		for i, n := range names {
			if string(key) == n {
				return seen.first(uint(i)) && (s.Null() || readString(s, fields[i]))
			}
		}
		_, ok := s.Skip()
		return ok
	})
}

var (
	gvkNames = []string{"group", "version", "kind"}
	gvrNames = []string{"group", "version", "resource"}
)

func readGVK(s *jsonscan.Scanner, v *metav1.GroupVersionKind) bool {
	return readStrings(s, gvkNames, &v.Group, &v.Version, &v.Kind)
}

func readGVR(s *jsonscan.Scanner, v *metav1.GroupVersionResource) bool {
	return readStrings(s, gvrNames, &v.Group, &v.Version, &v.Resource)
}

func readUserInfo(s *jsonscan.Scanner, u *authenticationv1.UserInfo) bool {
	var seen fieldSet
	return s.Object(func(key []byte) bool {
		switch string(key) {
		case "username":
			return seen.first(0) && (s.Null() || readString(s, &u.Username))
		case "uid":
			return seen.first(1) && (s.Null() || readString(s, &u.UID))
		case "groups":
			return seen.first(2) && (s.Null() || readStringList(s, &u.Groups))
		case "extra":
			return seen.first(3) && (s.Null() || readExtra(s, &u.Extra))
		}
		_, ok := s.Skip()
		return ok
	})
}

// readStringList reads an array of strings; [] is an empty list, not nil,
// as encoding/json has it.
func readStringList(s *jsonscan.Scanner, v *[]string) bool {
	list := []string{}
	ok := s.Array(func() bool {
		str, ok := s.String()
		list = append(list, str)
		return ok
	})
	*v = list
	return ok
}

func readExtra(s *jsonscan.Scanner, v *map[string]authenticationv1.ExtraValue) bool {
	extra := map[string]authenticationv1.ExtraValue{}
	ok := s.Object(func(key []byte) bool {
		k := string(key)
		if _, dup := extra[k]; dup {
			return false
		}
		if s.Null() {
			extra[k] = nil
			return true
		}
		var list []string
		ok := readStringList(s, &list)
		extra[k] = list
		return ok
	})
	*v = extra
	return ok
}
