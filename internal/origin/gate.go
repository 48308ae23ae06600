package origin

import (
	"net/http"

	"github.com/onair-live/onair/internal/gate"
	"github.com/onair-live/onair/internal/httpapi"
)

// handleGateStatus is the gate's state on the host port.
func (s *Origin) handleGateStatus(w http.ResponseWriter, _ *http.Request) {
	httpapi.WriteJSON(w, http.StatusOK, s.gate.Status())
}

// handleGateMode is the operator's switch: normal, under_attack or auto.
func (s *Origin) handleGateMode(w http.ResponseWriter, r *http.Request) {
	if !s.requireAdmin(w, r) {
		return
	}
	var req struct {
		Mode gate.Mode `json:"mode"`
	}
	if !httpapi.DecodeJSON(w, r, &req) {
		return
	}
	if !s.gate.SetMode(req.Mode) {
		httpapi.WriteError(w, http.StatusBadRequest, "bad_mode", `mode must be "normal", "under_attack" or "auto"`)
		return
	}
	s.log.Warn("gate mode set by the operator", "mode", req.Mode)
	httpapi.WriteJSON(w, http.StatusOK, s.gate.Status())
}
