package main

import (
	"os"
	"os/signal"
	"syscall"
	"unsafe"
)

// takeTerminal makes the demo the terminal's foreground process group, so that Ctrl-C reaches
// the demo alone. Run by `make demo` (or `go run`), the demo shares its process group with
// make, and the terminal would interrupt make too: make then reports the recipe as failed, or
// dies of the signal itself, although the demo stopped cleanly. The demo catches the signal,
// stops its children and exits 0, so make does too. It returns the function that gives the
// terminal back; without a terminal, or when the demo runs in the background, it does nothing.
func takeTerminal() (giveBack func()) {
	nothing := func() {}
	tty, err := os.OpenFile("/dev/tty", os.O_RDWR, 0)
	if err != nil {
		return nothing
	}
	fg, err := foreground(tty)
	own := syscall.Getpgrp()
	if err != nil || fg != own || own == syscall.Getpid() {
		tty.Close() // in the background, or already a group of its own (a shell started it)
		return nothing
	}
	// A background group may set the terminal's foreground group only with SIGTTOU ignored.
	signal.Ignore(syscall.SIGTTOU)
	defer signal.Reset(syscall.SIGTTOU)
	if err := syscall.Setpgid(0, 0); err != nil {
		tty.Close()
		return nothing
	}
	if err := setForeground(tty, syscall.Getpid()); err != nil {
		_ = syscall.Setpgid(0, own)
		tty.Close()
		return nothing
	}
	// Ctrl-Z would stop the demo alone while make, still in the foreground of its shell,
	// waited: the terminal would hang. The demo runs until Ctrl-C instead.
	signal.Notify(make(chan os.Signal, 1), syscall.SIGTSTP)
	return func() {
		signal.Ignore(syscall.SIGTTOU)
		_ = setForeground(tty, fg)
		signal.Reset(syscall.SIGTTOU)
		tty.Close()
	}
}

func foreground(tty *os.File) (int, error) {
	var pgrp int32
	if _, _, e := syscall.Syscall(syscall.SYS_IOCTL, tty.Fd(), syscall.TIOCGPGRP, uintptr(unsafe.Pointer(&pgrp))); e != 0 {
		return 0, e
	}
	return int(pgrp), nil
}

func setForeground(tty *os.File, pgrp int) error {
	p := int32(pgrp)
	if _, _, e := syscall.Syscall(syscall.SYS_IOCTL, tty.Fd(), syscall.TIOCSPGRP, uintptr(unsafe.Pointer(&p))); e != 0 {
		return e
	}
	return nil
}
