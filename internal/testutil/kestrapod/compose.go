package kestrapod

import (
	"fmt"
	"os"
	"path"
	"path/filepath"
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
	p := &Process{User: user, Env: map[string]string{}, Files: map[string]File{}, binds: map[string]string{}}
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
		switch {
		case err != nil:
			continue // a path docker makes a folder of
		case info.IsDir():
			if err := p.bindFolder(v.Source, v.Target); err != nil {
				return nil, err
			}
		case info.Mode().IsRegular():
			f, err := hostFile(v.Source, info)
			if err != nil {
				return nil, err
			}
			p.Files[v.Target] = f
		}
	}
	return p, p.launch(service.Name)
}

// bindFolder records a folder bind mount: its files as they are now (for the launcher and the tests'
// checks), and the folder itself, which the server mounts live.
func (p *Process) bindFolder(source, target string) error {
	entries, err := os.ReadDir(source)
	if err != nil {
		return err
	}
	for _, entry := range entries {
		info, err := entry.Info()
		if err != nil || !info.Mode().IsRegular() {
			continue
		}
		f, err := hostFile(filepath.Join(source, entry.Name()), info)
		if err != nil {
			return err
		}
		p.Files[path.Join(target, entry.Name())] = f
	}
	p.binds[path.Clean(target)] = source
	return nil
}

// hostFile is a host file as a bind mount shows it: the host's owner and mode.
func hostFile(name string, info os.FileInfo) (File, error) {
	data, err := os.ReadFile(name)
	if err != nil {
		return File{}, err
	}
	owner := info.Sys().(*syscall.Stat_t)
	return File{Data: data, UID: int(owner.Uid), GID: int(owner.Gid), Mode: info.Mode().Perm()}, nil
}
