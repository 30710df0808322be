//go:build tools

// Package tools pins the real docker compose CLI (v5) that the Compose tests run as a standalone binary:
// `docker-compose -f ... config` needs no Docker engine.
package tools

import _ "github.com/docker/compose/v5/cmd"
