package kestrapod

import (
	"fmt"
	"os"
	"syscall"

	"github.com/compose-spec/compose-go/v2/types"
)

// FromCompose follows a Compose service (as compose-go or `docker compose config` gives it, every file
// merged and interpolated) the way docker and Kestra's launcher do: its user, its environment (env_file
// included), and each bind-mounted file with the owner and mode it has on the host, which a bind mount
// keeps. Named volumes and folders carry no configuration and are left out.
func FromCompose(service types.ServiceConfig) (*Process, error) {
	user, err := composeUser(service.Image, service.User, service.GroupAdd)
	if err != nil {
		return nil, fmt.Errorf("service %s: %v", service.Name, err)
	}
	p := &Process{User: user, Env: map[string]string{}, Files: map[string]File{}}
	for name, value := range service.Environment {
		if value != nil {
			p.Env[name] = *value
		}
	}
	for _, v := range service.Volumes {
		if v.Type != types.VolumeTypeBind {
			continue
		}
		info, err := os.Stat(v.Source)
		if err != nil || !info.Mode().IsRegular() {
			continue // a folder, a socket, or a path docker makes a folder of
		}
		data, err := os.ReadFile(v.Source)
		if err != nil {
			return nil, err
		}
		owner := info.Sys().(*syscall.Stat_t)
		p.Files[v.Target] = File{Data: data, UID: int(owner.Uid), GID: int(owner.Gid), Mode: info.Mode().Perm()}
	}
	return p, p.launch(service.Name)
}
