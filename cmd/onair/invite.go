package main

import "fmt"

type inviteOut struct {
	ID     string `json:"id"`
	Role   string `json:"role"`
	Name   string `json:"name"`
	Token  string `json:"token"`
	Studio string `json:"studio"`
}

// invite makes a co-host or speaker token and prints the link to hand over.
func (c *client) invite(id, role, name string) error {
	var inv inviteOut
	if err := c.do("POST", "/api/v1/spaces/"+id+"/invites", map[string]any{"role": role, "name": name}, &inv); err != nil {
		return err
	}
	fmt.Printf("Invited %s as %s to space %s (invite %s)\n", inv.Name, inv.Role, id, inv.ID)
	fmt.Printf("  studio link: %s   (send it to them; it is shown once)\n", inv.Studio)
	fmt.Printf("  token:       %s   (for ffmpeg ingest or WHIP: Authorization: Bearer)\n", inv.Token)
	fmt.Printf("  revoke:      DELETE /api/v1/spaces/%s/invites/%s (cuts them off at once)\n", id, inv.ID)
	return nil
}
