package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"time"
)

const spaceUsage = `Usage: onair space <create|list|start|end|invite> [flags] [ID]

Manage spaces on a running server through its host port.
  create --title T [--starts-at RFC3339]   create a space; prints its id and host token
  list                                     list spaces
  start ID                                 take a space live (host token or admin key)
  end ID                                   end a show; the replay is ready at once
  invite ID --role R --name N              make a co-host or speaker token; prints its studio link

Run "onair space <sub> --help" for flags.
`

const defaultServer = "http://127.0.0.1:8081"

// client talks to the host port of a server.
type client struct {
	server, token string
	asJSON        bool
}

func clientFlags(fs *flag.FlagSet, c *client, dataDir *string) {
	fs.StringVar(&c.server, "server", defaultServer, "host port URL of the server")
	fs.StringVar(&c.token, "token", "", "host token of the space, or the admin key (default: --admin-key, then the data dir's admin.key)")
	fs.StringVar(dataDir, "data", "./onair-data", "data dir of a local server, to read its admin.key when no token is given")
	fs.BoolVar(&c.asJSON, "json", false, "print the server's JSON answer")
}

// spaceSubs describes each subcommand for its --help.
var spaceSubs = map[string]struct{ synopsis, about string }{
	"create": {"onair space create --title T [flags]",
		"Create a space on a running server (admin key). Prints its id and its host token,\n" +
			"which speakers and hosts need; the token is shown only once."},
	"list": {"onair space list [flags]", "List the spaces of a running server (admin key)."},
	"start": {"onair space start ID [flags]",
		"Take a space live (host token or admin key): from now on it is published and recorded."},
	"end": {"onair space end ID [flags]",
		"End a live show (host token or admin key): listeners get the end of the stream\n" +
			"and the replay is ready at once."},
	"invite": {"onair space invite ID --role speaker|cohost --name NAME [flags]",
		"Invite someone on stage (host or co-host token, or the admin key). Prints the\n" +
			"studio link that signs them in: a speaker can speak and see the stage; a\n" +
			"co-host can also start, end, invite and remove speakers (not the host)."},
}

func runSpace(args []string) error {
	if len(args) == 0 {
		fmt.Fprint(os.Stderr, spaceUsage)
		return usagef("missing subcommand: create, list, start, end or invite")
	}
	if a := args[0]; a == "-h" || a == "-help" || a == "--help" || a == "help" {
		fmt.Print(spaceUsage)
		return nil
	}
	sub, args := args[0], args[1:]
	doc, ok := spaceSubs[sub]
	if !ok {
		return usagef("unknown subcommand %q: want create, list, start, end or invite", sub)
	}
	fs := newFlagSet("space "+sub, doc.synopsis, doc.about)
	var c client
	var dataDir, adminKey, title, startsAt, role, name string
	var autoStart bool
	clientFlags(fs, &c, &dataDir)
	fs.StringVar(&adminKey, "admin-key", "", "admin key (default: the data dir's admin.key)")
	if sub == "create" {
		fs.StringVar(&title, "title", "", "title of the space (required)")
		fs.StringVar(&startsAt, "starts-at", "", "scheduled start, RFC 3339 (default: now)")
		fs.BoolVar(&autoStart, "auto-start", false, "go live by itself at --starts-at, with whoever is in the green room")
	}
	if sub == "invite" {
		fs.StringVar(&role, "role", "speaker", `"speaker" (speaks, sees the stage) or "cohost" (also runs the show)`)
		fs.StringVar(&name, "name", "", "the name they speak under, 1-64 letters, digits, spaces, . _ - (required)")
	}
	if err := parse(fs, args); err != nil {
		return err
	}
	wantArgs := 0
	if sub == "start" || sub == "end" || sub == "invite" {
		wantArgs = 1
	}
	switch {
	case fs.NArg() < wantArgs:
		return usagef("missing the space ID: %s", doc.synopsis)
	case fs.NArg() > wantArgs:
		return usagef("unexpected argument %q: %s", fs.Arg(wantArgs), doc.synopsis)
	case sub == "create" && title == "":
		return usagef("--title is required")
	case sub == "create" && autoStart && startsAt == "":
		return usagef("--auto-start needs --starts-at")
	case sub == "invite" && name == "":
		return usagef("--name is required")
	case sub == "invite" && role != "speaker" && role != "cohost":
		return usagef("--role %q: want speaker or cohost", role)
	}
	var starts time.Time
	if startsAt != "" {
		var err error
		if starts, err = time.Parse(time.RFC3339, startsAt); err != nil {
			return usagef("--starts-at %q: want a time such as 2026-05-01T18:00:00Z (RFC 3339)", startsAt)
		}
	}
	if c.token == "" {
		c.token = adminKey
	}
	if c.token == "" {
		path := filepath.Join(dataDir, "admin.key")
		b, err := os.ReadFile(path)
		if err != nil {
			return fmt.Errorf("no token: pass --token (the space's host token) or --admin-key, "+
				"or --data with the server's data dir (%v)", err)
		}
		c.token = strings.TrimSpace(string(b))
	}
	if !strings.Contains(c.server, "://") {
		c.server = "http://" + c.server // --server 127.0.0.1:8081
	}
	var err error
	switch sub {
	case "create":
		err = c.create(title, starts, autoStart)
	case "invite":
		err = c.invite(fs.Arg(0), role, name)
	case "list":
		err = c.list()
	default:
		err = c.transition(fs.Arg(0), sub)
	}
	if errors.Is(err, errPrinted) {
		return nil
	}
	return err
}

func (c *client) create(title string, startsAt time.Time, autoStart bool) error {
	body := map[string]any{"title": title}
	if !startsAt.IsZero() {
		body["starts_at"] = startsAt
	}
	if autoStart {
		body["auto_start"] = true
	}
	var sp spaceOut
	if err := c.do("POST", "/api/v1/spaces", body, &sp); err != nil {
		return err
	}
	fmt.Printf("Created space %s (%s), %s, starts %s\n", sp.ID, sp.Title, sp.State, sp.StartsAt.Format(time.RFC3339))
	fmt.Printf("  host token:  %s   (keep it secret; shown once)\n", sp.HostToken)
	fmt.Printf("  listen page: %s\n  studio:      %s#token=%s   (speak from a browser)\n", sp.URLs["page"], sp.URLs["studio"], sp.HostToken)
	fmt.Printf("  ingest:      %s\n", sp.URLs["ingest"])
	fmt.Printf("  ffmpeg:      ffmpeg -re -i voice.wav -c:a libopus -f ogg -page_duration 20000 -method PUT -headers $'Authorization: Bearer %s\\r\\n' '%s'\n",
		sp.HostToken, strings.Replace(sp.URLs["ingest"], "NAME", "alice", 1))
	server := ""
	if c.server != defaultServer {
		server = " --server " + c.server
	}
	fmt.Printf("  go live:     onair space start %s --token %s%s\n", sp.ID, sp.HostToken, server)
	return nil
}

func (c *client) list() error {
	var out struct{ Spaces []spaceOut }
	if err := c.do("GET", "/api/v1/spaces", nil, &out); err != nil {
		return err
	}
	tw := tabwriter.NewWriter(os.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tSTATE\tSTARTS\tLISTENERS\tTITLE")
	for _, sp := range out.Spaces {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%s\n", sp.ID, sp.State, sp.StartsAt.Format(time.RFC3339), sp.Listeners, sp.Title)
	}
	return tw.Flush()
}

func (c *client) transition(id, verb string) error {
	var sp spaceOut
	if err := c.do("POST", "/api/v1/spaces/"+id+"/"+verb, nil, &sp); err != nil {
		return err
	}
	fmt.Printf("Space %s is %s", sp.ID, sp.State)
	if sp.State == "ended" {
		fmt.Printf(": %.1f s recorded, replay at %s", sp.RecordedSeconds, sp.URLs["replay"])
	}
	fmt.Println()
	return nil
}

// errPrinted stops a command after --json printed the answer.
var errPrinted = errors.New("printed")

type spaceOut struct {
	ID              string            `json:"id"`
	Title           string            `json:"title"`
	State           string            `json:"state"`
	StartsAt        time.Time         `json:"starts_at"`
	Listeners       int64             `json:"listeners"`
	RecordedSeconds float64           `json:"recorded_seconds"`
	HostToken       string            `json:"host_token"`
	URLs            map[string]string `json:"urls"`
}

// do sends one API request; with --json it prints the raw answer instead of
// decoding it for the human-readable output.
func (c *client) do(method, path string, body, out any) error {
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, strings.TrimRight(c.server, "/")+path, rd)
	if err != nil {
		return err
	}
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := (&http.Client{Timeout: 30 * time.Second}).Do(req)
	if err != nil {
		return fmt.Errorf("cannot reach the server at %s: %v (is onair serve running? set --server)", c.server, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 8<<20))
	if err != nil {
		return err
	}
	if resp.StatusCode >= 300 {
		var e struct{ Error string }
		if json.Unmarshal(data, &e) == nil && e.Error != "" {
			return fmt.Errorf("%s: %s", resp.Status, e.Error)
		}
		return fmt.Errorf("%s", resp.Status)
	}
	if c.asJSON {
		_, err := os.Stdout.Write(data)
		return errors.Join(err, errPrinted)
	}
	return json.Unmarshal(data, out)
}
