package main

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
)

// TestBackupCarriesFiles: on SQLite, files live in the database file, so
// `chatd backup` copies them with the messages that carry them, and a
// restored node serves them. --max-upload-bytes (and its twin) bound an
// upload.
func TestBackupCarriesFiles(t *testing.T) {
	dir := t.TempDir()
	in := start(t, []string{"--addr", "127.0.0.1:0", "--data-dir", dir, "--max-upload-bytes", "64"},
		map[string]string{"CHATD_MAX_UPLOAD_BYTES": "1"}) // the flag wins over its twin
	url := "http://" + in.addr
	waitReady(t, url)
	token := register(t, url, "alice")
	content := []byte("minutes of the meeting\n")

	post := func(body []byte) (int, []byte) {
		req, _ := http.NewRequest("POST", url+"/api/rooms/general/files?name=minutes.txt", bytes.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, b
	}
	if status, body := post(bytes.Repeat([]byte("x"), 65)); status != http.StatusRequestEntityTooLarge {
		t.Errorf("65 bytes with --max-upload-bytes 64: %d %s, want 413", status, body)
	}
	status, body := post(content)
	if status != http.StatusCreated {
		t.Fatalf("upload: %d %s", status, body)
	}
	var up struct {
		File struct{ ID, URL string } `json:"file"`
	}
	json.Unmarshal(body, &up)
	ws := dial(t, in, token)
	if f := ws.Request("send_message", map[string]any{"room": "general", "attachments": []string{up.File.ID}}); f.Type != "ack" {
		t.Fatalf("send: %s", f.Payload)
	}

	file := filepath.Join(t.TempDir(), "chatd-backup.db")
	mustCmd(t, "", "backup", file, "--data-dir", dir)
	restored := filepath.Join(t.TempDir(), "restored")
	mustCmd(t, "", "restore", file, "--data-dir", restored)
	node := start(t, []string{"--addr", "127.0.0.1:0", "--data-dir", restored}, nil)
	nodeURL := "http://" + node.addr
	waitReady(t, nodeURL)
	_, token = login(t, nodeURL, "alice", "password-1")
	req, _ := http.NewRequest("GET", nodeURL+up.File.URL, nil)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	got, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !bytes.Equal(got, content) {
		t.Errorf("the restored node serves the file: %d %q, want %q", resp.StatusCode, got, content)
	}
	if cd := resp.Header.Get("Content-Disposition"); !strings.HasPrefix(cd, "attachment") {
		t.Errorf("Content-Disposition %q, want attachment", cd)
	}
}
