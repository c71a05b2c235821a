package intercom

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"testing"
)

func TestScrollCompaniesFollowsTheScrollParamToAnEmptyPage(t *testing.T) {
	pages := map[string]string{
		"":   `{"type":"list","data":[{"type":"company","id":"a","company_id":"org_a"},{"type":"company","id":"b","company_id":"org_b"}],"pages":null,"total_count":null,"scroll_param":"s1"}`,
		"s1": `{"type":"list","data":[{"type":"company","id":"c","company_id":"org_c"}],"total_count":3,"scroll_param":"s2"}`,
		"s2": `{"type":"list","data":[],"total_count":3,"scroll_param":"s3"}`,
	}
	var asked []string
	c := serve(t, func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		_, hasParam := q["scroll_param"]
		param := q.Get("scroll_param")
		asked = append(asked, param)
		body, ok := pages[param]
		if r.Method != "GET" || r.URL.Path != "/companies/scroll" || len(q) > 1 || (param == "") == hasParam || !ok {
			w.WriteHeader(400)
			fmt.Fprintf(w, `{"type":"error.list","errors":[{"code":"bad","message":"%s %s"}]}`, r.Method, r.URL)
			return
		}
		fmt.Fprint(w, body)
	})
	var ids []string
	param := ""
	for i := 0; ; i++ {
		page, err := c.ScrollCompanies(context.Background(), param)
		if err != nil || i > 5 {
			t.Fatalf("page %d: %v", i, err)
		}
		if page.Done() {
			break
		}
		for _, co := range page.Data {
			ids = append(ids, co.ID+"="+co.CompanyID)
		}
		param = page.ScrollParam
	}
	if fmt.Sprint(ids) != "[a=org_a b=org_b c=org_c]" || fmt.Sprintf("%q", asked) != `["" "s1" "s2"]` {
		t.Fatalf("companies %v, scroll params sent %q", ids, asked)
	}
}

func TestScrollBusyIsTheOneOpenScrollError(t *testing.T) {
	cases := []struct {
		status int
		body   string
		busy   bool
	}{
		{400, `{"type":"error.list","errors":[{"code":"scroll_exists","message":"scroll already exists for this app"}]}`, true},
		{400, `{"type":"error.list","errors":[{"code":"","message":"Scroll already exists for this app"}]}`, true},
		{400, `{"type":"error.list","errors":[{"code":"parameter_invalid","message":"bad scroll_param"}]}`, false},
		{404, `{"type":"error.list","errors":[{"code":"not_found","message":"scroll expired"}]}`, false},
		{500, `{"type":"error.list","errors":[{"code":"server_error","message":"Request failed due to an internal network error. Please restart the scroll operation."}]}`, false},
	}
	for _, tc := range cases {
		c := serve(t, func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(tc.status)
			fmt.Fprint(w, tc.body)
		})
		_, err := c.ScrollCompanies(context.Background(), "")
		if err == nil || ScrollBusy(err) != tc.busy {
			t.Errorf("%d %s: err %v, ScrollBusy = %v, want %v", tc.status, tc.body, err, ScrollBusy(err), tc.busy)
		}
	}
	if ScrollBusy(nil) || ScrollBusy(errors.New("scroll already exists")) {
		t.Error("ScrollBusy is true of something that is not an Intercom answer")
	}
}
