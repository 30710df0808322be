package kestrapod

import (
	"fmt"
	"io/fs"
	"path"
	"slices"
	"strconv"
	"strings"
)

// User is who a container's process runs as.
type User struct {
	UID, GID int
	// Groups are the supplementary groups: the pod's fsGroup and supplementalGroups, Compose's group_add.
	Groups []int
	// From says where the user comes from, for messages.
	From string
}

// KestraImageUser is the user Kestra's images run as: kestra-io/kestra's Dockerfile does `groupadd kestra`,
// `useradd -m -g kestra kestra` and `USER kestra` on eclipse-temurin's Ubuntu (jammy) images, where they
// are the first user and group made, 1000. Other bases may number them otherwise: what must hold is only
// that it is not root.
var KestraImageUser = User{UID: 1000, GID: 1000, From: "the image's USER kestra"}

// imageUser is the USER of the image: Kestra's non-root user for Kestra's images, root (Docker's default)
// for any other.
func imageUser(image string) User {
	repository := image
	if at := strings.LastIndex(repository, "@"); at >= 0 {
		repository = repository[:at]
	}
	if colon := strings.LastIndex(repository, ":"); colon > strings.LastIndex(repository, "/") {
		repository = repository[:colon]
	}
	// kestra/kestra on Docker Hub, registry.kestra.io/docker/kestra, a mirror of either.
	if path.Base(repository) == "kestra" && strings.Contains(path.Dir(repository), "kestra") {
		return KestraImageUser
	}
	return User{From: "image " + image + " (root by default)"}
}

// podUser is the container's user as the kubelet and the runtime decide it: runAsUser and runAsGroup from
// the container's securityContext, else the pod's, else the image's USER. A uid without a group gets the
// image user's group when it is that user, else group 0, as the runtime does for a uid /etc/passwd lacks.
func podUser(pod, container map[string]any) (User, error) {
	image, _ := container["image"].(string)
	user := imageUser(image)
	field := func(name string) (int, string, bool) {
		if v, ok := intField(container, "securityContext", name); ok {
			return v, "container securityContext." + name, true
		}
		if v, ok := intField(pod, "securityContext", name); ok {
			return v, "pod securityContext." + name, true
		}
		return 0, "", false
	}
	if uid, from, ok := field("runAsUser"); ok {
		gid := 0
		if uid == user.UID {
			gid = user.GID
		}
		user = User{UID: uid, GID: gid, From: fmt.Sprintf("%s %d", from, uid)}
	}
	if gid, from, ok := field("runAsGroup"); ok {
		user.GID = gid
		user.From += fmt.Sprintf(", %s %d", from, gid)
	}
	if nonRoot, _ := dig(container, "securityContext", "runAsNonRoot").(bool); nonRoot && user.UID == 0 {
		return User{}, fmt.Errorf("runAsNonRoot with a root user: the kubelet would not start the container")
	}
	if fsGroup, ok := intField(pod, "securityContext", "fsGroup"); ok {
		user.Groups = append(user.Groups, fsGroup)
	}
	for _, g := range asList(dig(pod, "securityContext", "supplementalGroups")) {
		if gid, ok := intField(map[string]any{"g": g}, "g"); ok {
			user.Groups = append(user.Groups, gid)
		}
	}
	return user, nil
}

// composeUser is a Compose service's user: `user:` as uid[:gid] or a name (root, or the image's user by
// its name), else the image's USER; group_add adds groups.
func composeUser(image, spec string, groupAdd []string) (User, error) {
	user := imageUser(image)
	if spec != "" {
		name, group, hasGroup := strings.Cut(spec, ":")
		switch uid, err := strconv.Atoi(name); {
		case err == nil:
			gid := 0
			if uid == user.UID {
				gid = user.GID
			}
			user = User{UID: uid, GID: gid}
		case name == "root":
			user = User{}
		case name == "kestra" && user.UID != 0: // the image's own user, by name
		default:
			return User{}, fmt.Errorf("user %q: the test ground knows root, kestra and numeric ids", spec)
		}
		if hasGroup {
			gid, err := strconv.Atoi(group)
			if err != nil && group != "root" {
				return User{}, fmt.Errorf("user %q: the test ground knows numeric groups and root", spec)
			}
			user.GID = gid
		}
		user.From = "the service's user: " + spec
	}
	for _, g := range groupAdd {
		gid, err := strconv.Atoi(g)
		if err != nil {
			return User{}, fmt.Errorf("group_add %q: the test ground knows numeric groups", g)
		}
		user.Groups = append(user.Groups, gid)
	}
	return user, nil
}

// CanRead tells whether the user may open the file for reading, by the owner, group and mode bits (root
// reads everything).
func (u User) CanRead(f File) bool {
	switch {
	case u.UID == 0:
		return true
	case u.UID == f.UID:
		return f.Mode&0o400 != 0
	case u.GID == f.GID || slices.Contains(u.Groups, f.GID):
		return f.Mode&0o040 != 0
	}
	return f.Mode&0o004 != 0
}

func (u User) String() string {
	return fmt.Sprintf("uid %d gid %d groups %v (%s)", u.UID, u.GID, u.Groups, u.From)
}

func (f File) String() string {
	return fmt.Sprintf("owner %d:%d, mode %#o", f.UID, f.GID, f.Mode&fs.ModePerm)
}
