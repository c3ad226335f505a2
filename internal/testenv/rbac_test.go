package testenv

import "testing"

func TestRBACDenials(t *testing.T) {
	for _, tc := range []struct {
		name string
		log  string
		want int
	}{
		{"JSON-escaped denial in a controller log", `{"error":"secrets \"x\" is forbidden: User \"system:serviceaccount:ns:sa\" cannot patch resource \"secrets\" in API group \"\""}`, 1},
		{"plain denial", `secrets "x" is forbidden: User "system:serviceaccount:ns:sa" cannot list resource "secrets"`, 1},
		{"namespace being deleted is not a permission error", `events "e" is forbidden: unable to create new content in namespace x because it is being terminated`, 0},
		{"two denials", "forbidden: User \"system:serviceaccount:a:b\" cannot get resource \"configmaps\"\nforbidden: User \"system:serviceaccount:a:b\" cannot create resource \"events\"", 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := RBACDenials(tc.log); len(got) != tc.want {
				t.Errorf("RBACDenials = %q, want %d", got, tc.want)
			}
		})
	}
}
