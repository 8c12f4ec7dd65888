package config

import (
	"fmt"
	"os"
	"slices"
	"syscall"
)

// CheckPrivate refuses a secret file that someone other than muc-kick (and
// root) could read or change, as ssh refuses a private key that others can
// read: it names the file and says how to fix it. key is the configuration
// key that names the file, for the message.
//
// A file passes when it is owned by root or by the user muc-kick runs as,
// and nobody else may read or write it: mode 0600 or 0400, or 0640 or 0440
// when its group is one muc-kick belongs to (the service's own group, or a
// group such as Debian's ssl-cert that exists to share keys with daemons).
// systemd's LoadCredential= copies (0400, under $CREDENTIALS_DIRECTORY, owned
// by the service's user) pass.
func CheckPrivate(key, name string) error {
	fi, err := os.Stat(name)
	if err != nil {
		return fmt.Errorf("config: %s: %w", key, err)
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return nil // not a Unix file system: nothing to check
	}
	mode := fi.Mode().Perm()
	fix := fmt.Sprintf("chmod 600 %s", name)
	switch {
	case st.Uid != 0 && int(st.Uid) != os.Geteuid():
		return fmt.Errorf("config: %s: %s belongs to user %d, who could change it; chown root %s (or pass it with systemd's LoadCredential=)", key, name, st.Uid, name)
	case mode&0o007 != 0:
		return fmt.Errorf("config: %s: %s is open to other users (mode %04o); %s (muc-kick refuses a secret that others can read)", key, name, mode, fix)
	case mode&0o030 != 0:
		return fmt.Errorf("config: %s: %s is writable by its group (mode %04o); %s", key, name, mode, fix)
	case mode&0o040 != 0 && !memberOf(int(st.Gid)):
		return fmt.Errorf("config: %s: %s is readable by group %d, which muc-kick is not in (mode %04o); %s, or chgrp it to muc-kick's group", key, name, st.Gid, mode, fix)
	}
	return nil
}

// memberOf reports whether the process belongs to group gid.
func memberOf(gid int) bool {
	if gid == os.Getegid() {
		return true
	}
	groups, err := os.Getgroups()
	return err == nil && slices.Contains(groups, gid)
}
