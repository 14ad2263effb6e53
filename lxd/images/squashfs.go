package images

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
)

// The squashfs-tools programs are run with fixed arguments only; the image path is the last argument and comes
// from the store, never from the user.
const (
	unsquashfsBin = "unsquashfs"

	// squashfsRoot is the prefix unsquashfs gives every listed path.
	squashfsRoot = "squashfs-root"
)

// lsLine matches one line of "unsquashfs -lln": mode, uid/gid, size or "major, minor", date, time, path.
var lsLine = regexp.MustCompile(`^([-dlcbps])[-rwxsStT]{9}\s+\d+/\d+\s+(\d+|\d+,\s*\d+)\s+\d{4}-\d{2}-\d{2}\s+\d{2}:\d{2}\s+(.*)$`)

// checkSquashfs validates a complete squashfs rootfs file: its size against the superblock, then its listing.
// Paths in a squashfs are directory entries, so they cannot be absolute or hold ".."; the listing is checked for
// the entry types (block devices and character devices outside the allow-list are refused).
func checkSquashfs(ctx context.Context, file string, size int64, superblock []byte) error {
	used, ok := squashfsBytesUsed(superblock)
	if !ok {
		return invalidf(partRootfs, "squashfs superblock is truncated")
	}

	if used > uint64(size) {
		return invalidf(partRootfs, "squashfs is truncated: the superblock says %d bytes, the file has %d", used, size)
	}

	_, err := exec.LookPath(unsquashfsBin)
	if err != nil {
		return fmt.Errorf("squashfs images need %s (Debian squashfs-tools): %w", unsquashfsBin, err)
	}

	cmd := exec.CommandContext(ctx, unsquashfsBin, "-lln", "-n", "-da", "4", "-fr", "4", file)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return err
	}

	var stderr strings.Builder
	cmd.Stderr = &limitedWriter{w: &stderr, n: 4096}
	err = cmd.Start()
	if err != nil {
		return err
	}

	checkErr := checkSquashfsListing(stdout)
	if checkErr != nil {
		_, _ = io.Copy(io.Discard, stdout)
	}

	err = cmd.Wait()
	if checkErr != nil {
		return checkErr
	}

	if err != nil {
		return &InvalidError{Part: partRootfs, Reason: "squashfs cannot be listed: " + strings.TrimSpace(stderr.String()), Err: err}
	}

	return nil
}

// checkSquashfsListing applies the entry rules to the output of "unsquashfs -lln".
func checkSquashfsListing(r io.Reader) error {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	entries := 0
	for sc.Scan() {
		line := sc.Text()
		m := lsLine.FindStringSubmatch(line)
		if m == nil {
			// A file name holding a newline continues on the next line; it names no new entry.
			continue
		}

		name := m[3]
		if name != squashfsRoot && !strings.HasPrefix(name, squashfsRoot+"/") {
			return invalidEntry(partRootfs, name, "squashfs listing has a path outside the root")
		}

		entries++
		name = strings.TrimPrefix(strings.TrimPrefix(name, squashfsRoot), "/")
		switch m[1] {
		case "b":
			return invalidEntry(partRootfs, name, "block device %s is not allowed", strings.ReplaceAll(m[2], " ", ""))
		case "c":
			major, minor, ok := parseDevice(m[2])
			if !ok {
				return invalidEntry(partRootfs, name, "unreadable device numbers %q", m[2])
			}

			_, allowed := allowedCharDevices[[2]int64{major, minor}]
			if !allowed {
				return invalidEntry(partRootfs, name, "character device %d:%d is not one of null, zero, full, random, urandom, tty, console, ptmx", major, minor)
			}
		case "s":
			return invalidEntry(partRootfs, name, "sockets are not supported")
		}
	}

	err := sc.Err()
	if err != nil {
		return &InvalidError{Part: partRootfs, Reason: "reading the squashfs listing", Err: err}
	}

	if entries == 0 {
		return invalidf(partRootfs, "squashfs listing is empty")
	}

	return nil
}

func parseDevice(s string) (int64, int64, bool) {
	a, b, ok := strings.Cut(s, ",")
	if !ok {
		return 0, 0, false
	}

	major, err1 := strconv.ParseInt(strings.TrimSpace(a), 10, 64)
	minor, err2 := strconv.ParseInt(strings.TrimSpace(b), 10, 64)
	return major, minor, err1 == nil && err2 == nil
}

// unsquash extracts a squashfs file into dest with "unsquashfs -f -d DEST FILE".
func unsquash(ctx context.Context, file string, dest string, xattrs bool) error {
	args := []string{"-f", "-n", "-q", "-da", "16", "-fr", "16"}
	if !xattrs {
		args = append(args, "-no-xattrs")
	}

	args = append(args, "-d", dest, file)
	cmd := exec.CommandContext(ctx, unsquashfsBin, args...)
	var out strings.Builder
	cmd.Stdout = &limitedWriter{w: &out, n: 4096}
	cmd.Stderr = cmd.Stdout
	err := cmd.Run()
	if err != nil {
		return fmt.Errorf("unsquashfs %q: %w: %s", file, err, strings.TrimSpace(out.String()))
	}

	return nil
}

// limitedWriter keeps the first n bytes written and drops the rest.
type limitedWriter struct {
	w io.Writer
	n int
}

func (l *limitedWriter) Write(p []byte) (int, error) {
	keep := min(len(p), l.n)
	if keep > 0 {
		_, err := l.w.Write(p[:keep])
		if err != nil {
			return 0, err
		}

		l.n -= keep
	}

	return len(p), nil
}
