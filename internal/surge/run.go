package surge

import "errors"

// Run simulates cfg's surge; it refuses a configuration that makes no
// sense with an error naming what is wrong.
func Run(cfg Config) (Result, error) {
	if _, err := cfg.withDefaults(); err != nil {
		return Result{}, err
	}
	return Result{}, errors.New("surge: not built yet")
}
