// Checks the inclusion proofs of a congvan relay log proof (`congvan relay
// proof`) with Go's golang.org/x/mod/sumdb/tlog, an implementation of RFC
// 6962 hashing that shares no code with congvan: every record's leaf must
// lead to the root its batch statement names.
//
//	GO111MODULE=off GOPATH=/usr/share/gocode GOPROXY=off go run tlog_check.go PROOF.json
package main

import (
	"encoding/json"
	"fmt"
	"os"
	"strings"

	"golang.org/x/mod/sumdb/tlog"
)

type record struct {
	Record    string   `json:"record"`
	Index     int64    `json:"index"`
	Size      int64    `json:"size"`
	Root      string   `json:"root"`
	Path      []string `json:"path"`
	Statement string   `json:"statement"`
	Token     string   `json:"token"`
}

type proof struct {
	Records []record `json:"records"`
}

func fail(format string, args ...interface{}) {
	fmt.Fprintf(os.Stderr, format+"\n", args...)
	os.Exit(1)
}

func main() {
	data, err := os.ReadFile(os.Args[1])
	if err != nil {
		fail("%v", err)
	}
	var p proof
	if err := json.Unmarshal(data, &p); err != nil {
		fail("not a proof: %v", err)
	}
	if len(p.Records) == 0 {
		fail("no records")
	}
	for i, r := range p.Records {
		root, err := tlog.ParseHash(r.Root)
		if err != nil {
			fail("record %d: root: %v", i+1, err)
		}
		var path tlog.RecordProof
		for _, text := range r.Path {
			h, err := tlog.ParseHash(text)
			if err != nil {
				fail("record %d: path: %v", i+1, err)
			}
			path = append(path, h)
		}
		named := fmt.Sprintf("\nsize %d\nroot %s\n", r.Size, r.Root)
		if !strings.HasSuffix(r.Statement, named) {
			fail("record %d: the statement does not name size %d and root %s", i+1, r.Size, r.Root)
		}
		leaf := tlog.RecordHash([]byte(r.Record))
		if err := tlog.CheckRecord(path, r.Size, root, r.Index, leaf); err != nil {
			fail("record %d: %v", i+1, err)
		}
	}
	fmt.Printf("tlog: %d inclusion proofs hold\n", len(p.Records))
}
