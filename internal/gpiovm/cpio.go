package gpiovm

import (
	"compress/gzip"
	"fmt"
	"io"
	"os"
	"path"
	"sort"
	"strings"
)

// Initramfs is the content of a gzip'd newc cpio archive for the kernel's
// initrd: file path in the archive (no leading slash, "init") → content.
// Directories are created for every parent; every file is mode 0755.
type Initramfs map[string][]byte

// AddFile reads the host file src into the archive as name.
func (fs Initramfs) AddFile(name, src string) error {
	b, err := os.ReadFile(src)
	if err != nil {
		return err
	}
	fs[name] = b
	return nil
}

// WriteTo writes the archive, gzip'd, to w.
func (fs Initramfs) WriteTo(w io.Writer) (int64, error) {
	cw := &countWriter{w: w}
	zw := gzip.NewWriter(cw)
	if err := fs.writeCpio(zw); err != nil {
		return cw.n, err
	}
	err := zw.Close()
	return cw.n, err
}

type countWriter struct {
	w io.Writer
	n int64
}

func (c *countWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}

// writeCpio writes the uncompressed newc ("070701") archive.
func (fs Initramfs) writeCpio(w io.Writer) error {
	dirs := map[string]bool{}
	var names []string
	for name := range fs {
		names = append(names, name)
		for d := path.Dir(name); d != "." && d != "/"; d = path.Dir(d) {
			dirs[d] = true
		}
	}
	var dirList []string
	for d := range dirs {
		dirList = append(dirList, d)
	}
	sort.Strings(dirList) // a parent sorts before its children
	sort.Strings(names)
	ino := 1
	for _, d := range dirList {
		if err := cpioEntry(w, ino, d, 0o040755, nil); err != nil {
			return err
		}
		ino++
	}
	for _, name := range names {
		if strings.HasPrefix(name, "/") {
			return fmt.Errorf("gpiovm: initramfs path %q must be relative", name)
		}
		if err := cpioEntry(w, ino, name, 0o100755, fs[name]); err != nil {
			return err
		}
		ino++
	}
	return cpioEntry(w, 0, "TRAILER!!!", 0, nil)
}

// cpioEntry writes one newc header, name and data, each padded to 4 bytes.
func cpioEntry(w io.Writer, ino int, name string, mode uint32, data []byte) error {
	nlink := 1
	if mode&0o040000 != 0 {
		nlink = 2
	}
	hdr := fmt.Sprintf("070701%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X",
		ino, mode, 0, 0, nlink, 0, len(data), 0, 0, 0, 0, len(name)+1, 0)
	buf := append([]byte(hdr), name...)
	buf = append(buf, 0)
	buf = pad4(buf)
	if _, err := w.Write(buf); err != nil {
		return err
	}
	if len(data) == 0 {
		return nil
	}
	if _, err := w.Write(data); err != nil {
		return err
	}
	_, err := w.Write(make([]byte, (4-len(data)%4)%4))
	return err
}

func pad4(b []byte) []byte {
	for len(b)%4 != 0 {
		b = append(b, 0)
	}
	return b
}
