// Command tlog-verify checks mcp-warden's checkpoints and proofs with independent
// implementations: github.com/transparency-dev/formats (checkpoints, cosignature/v1),
// golang.org/x/mod/sumdb/note (signed notes) and github.com/transparency-dev/merkle
// (RFC 6962 proofs). It reads one JSON request on stdin, prints a one-line JSON verdict
// and exits 0 only when everything in the request verifies.
package main

import (
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"

	"github.com/transparency-dev/formats/log"
	fnote "github.com/transparency-dev/formats/note"
	"github.com/transparency-dev/merkle/proof"
	"github.com/transparency-dev/merkle/rfc6962"
	"golang.org/x/mod/sumdb/note"
)

// request is what the TypeScript side sends. Every inclusion and consistency proof is
// checked against the checkpoint: its size and root are the second tree's.
type request struct {
	Origin        string        `json:"origin"`
	Vkey          string        `json:"vkey"`
	CosignerVkeys []string      `json:"cosigner_vkeys"`
	Checkpoint    string        `json:"checkpoint"`
	Inclusion     []inclusion   `json:"inclusion"`
	Consistency   []consistency `json:"consistency"`
}

type inclusion struct {
	LeafHash string   `json:"leaf_hash"`
	Index    uint64   `json:"index"`
	Proof    []string `json:"proof"`
}

type consistency struct {
	OldSize uint64   `json:"old_size"`
	OldRoot string   `json:"old_root"`
	Proof   []string `json:"proof"`
}

// verdict is what was verified; cosigned_at lists the cosignatures' timestamps in the
// order of cosigner_vkeys.
type verdict struct {
	OK          bool    `json:"ok"`
	Origin      string  `json:"origin"`
	Size        uint64  `json:"size"`
	Root        string  `json:"root"`
	CosignedAt  []int64 `json:"cosigned_at"`
	Inclusion   int     `json:"inclusion"`
	Consistency int     `json:"consistency"`
}

type refusal struct {
	OK    bool   `json:"ok"`
	Error string `json:"error"`
}

func main() {
	v, err := run()
	if err != nil {
		out, _ := json.Marshal(refusal{Error: err.Error()})
		fmt.Println(string(out))
		os.Exit(1)
	}
	out, _ := json.Marshal(v)
	fmt.Println(string(out))
}

func run() (verdict, error) {
	var req request
	dec := json.NewDecoder(os.Stdin)
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil {
		return verdict{}, fmt.Errorf("reading the request: %v", err)
	}
	logVerifier, err := note.NewVerifier(req.Vkey)
	if err != nil {
		return verdict{}, fmt.Errorf("log vkey: %v", err)
	}
	cosigners := make([]note.Verifier, 0, len(req.CosignerVkeys))
	for _, k := range req.CosignerVkeys {
		c, err := fnote.NewVerifierForCosignatureV1(k)
		if err != nil {
			return verdict{}, fmt.Errorf("cosigner vkey %q: %v", k, err)
		}
		cosigners = append(cosigners, c)
	}
	cp, _, n, err := log.ParseCheckpoint([]byte(req.Checkpoint), req.Origin, logVerifier, cosigners...)
	if err != nil {
		return verdict{}, err
	}
	if len(cp.Hash) != rfc6962.DefaultHasher.Size() {
		return verdict{}, fmt.Errorf("checkpoint root hash has %d bytes", len(cp.Hash))
	}
	v := verdict{Origin: cp.Origin, Size: cp.Size, Root: hex.EncodeToString(cp.Hash), CosignedAt: []int64{}}
	for _, c := range cosigners {
		at, err := cosignedAt(n, c)
		if err != nil {
			return verdict{}, err
		}
		v.CosignedAt = append(v.CosignedAt, at)
	}
	for i, p := range req.Inclusion {
		if err := verifyInclusion(p, cp); err != nil {
			return verdict{}, fmt.Errorf("inclusion[%d] (index %d): %v", i, p.Index, err)
		}
		v.Inclusion++
	}
	for i, p := range req.Consistency {
		if err := verifyConsistency(p, cp); err != nil {
			return verdict{}, fmt.Errorf("consistency[%d] (from %d): %v", i, p.OldSize, err)
		}
		v.Consistency++
	}
	v.OK = true
	return v, nil
}

// cosignedAt finds c's verified signature on n and returns its timestamp.
func cosignedAt(n *note.Note, c note.Verifier) (int64, error) {
	for _, s := range n.Sigs {
		if s.Name == c.Name() && s.Hash == c.KeyHash() {
			t, err := fnote.CoSigV1Timestamp(s)
			if err != nil {
				return 0, fmt.Errorf("cosignature by %s: %v", c.Name(), err)
			}
			return t.Unix(), nil
		}
	}
	return 0, fmt.Errorf("no verified cosignature by %s+%08x", c.Name(), c.KeyHash())
}

func verifyInclusion(p inclusion, cp *log.Checkpoint) error {
	leaf, err := decodeHash(p.LeafHash)
	if err != nil {
		return fmt.Errorf("leaf_hash: %v", err)
	}
	hashes, err := decodeHashes(p.Proof)
	if err != nil {
		return err
	}
	return proof.VerifyInclusion(rfc6962.DefaultHasher, p.Index, cp.Size, leaf, hashes, cp.Hash)
}

func verifyConsistency(p consistency, cp *log.Checkpoint) error {
	root, err := decodeHash(p.OldRoot)
	if err != nil {
		return fmt.Errorf("old_root: %v", err)
	}
	hashes, err := decodeHashes(p.Proof)
	if err != nil {
		return err
	}
	return proof.VerifyConsistency(rfc6962.DefaultHasher, p.OldSize, cp.Size, hashes, root, cp.Hash)
}

func decodeHashes(in []string) ([][]byte, error) {
	out := make([][]byte, len(in))
	for i, h := range in {
		b, err := decodeHash(h)
		if err != nil {
			return nil, fmt.Errorf("proof[%d]: %v", i, err)
		}
		out[i] = b
	}
	return out, nil
}

func decodeHash(h string) ([]byte, error) {
	b, err := hex.DecodeString(h)
	if err != nil {
		return nil, err
	}
	if len(b) != rfc6962.DefaultHasher.Size() {
		return nil, errors.New("not a 32-byte hash")
	}
	return b, nil
}
