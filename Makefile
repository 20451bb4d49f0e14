# BranchQ developer entry points. Every target installs what it needs first, so a fresh
# Debian/Ubuntu clone needs nothing but `make demo` or `make test`.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
APT_PACKAGES := libzbar0 libpulse0 fonts-wqy-microhei libusb-1.0-0 xvfb libxkbcommon-x11-0 openssl postgresql procps \
	libxcb-cursor0 libxcb-icccm4 libxcb-keysyms1 libxcb-image0 libxcb-randr0 \
	libxcb-render-util0 libxcb-shape0 libxcb-xinerama0 libxcb-xkb1 libegl1 libgl1 \
	libfontconfig1 libdbus-1-3 libglib2.0-0 \
	chromium alsa-utils

.PHONY: all setup system-deps demo test test-fast lint format screenshots kiosk-bundle clean

all: test

# System packages: installed with apt-get when root, otherwise the exact command is printed.
.system-deps.stamp: Makefile
	@missing=""; for p in $(APT_PACKAGES); do \
		dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q "install ok installed" || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
		if [ "$$(id -u)" = "0" ]; then \
			echo "Installing system packages:$$missing"; \
			apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing; \
		else \
			echo "BranchQ needs these system packages. Run:"; \
			echo "  sudo apt-get install -y$$missing"; \
			exit 1; \
		fi; \
	fi
	@touch $@

system-deps: .system-deps.stamp

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[dev,voice]'
	@touch $@

setup: system-deps $(VENV)/.installed

# The demo branch. With a display (DISPLAY or WAYLAND_DISPLAY) the kiosk opens on the
# simulated devices and the terminal becomes its device panel; without one, the banner says
# how to see it (a desktop, or xvfb-run).
demo: setup
	$(BIN)/branchq demo --traffic

# Two test processes (pytest-xdist): most tests wait on sockets, ptys and child processes,
# so one process left a core idle (14:45 → 8:44 on this 2-core machine). Each process has
# its own PostgreSQL cluster, ports and temporary files.
test: setup
	QT_QPA_PLATFORM=offscreen $(BIN)/python -m pytest -q -n 2

# The edit loop: everything but the tests marked slow (drills, soak, fuzzing, benches, the
# kiosk bundle build). `make test` stays the whole suite, as CI runs it.
test-fast: setup
	QT_QPA_PLATFORM=offscreen $(BIN)/python -m pytest -q -n 2 -m "not slow"

lint: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/lint-imports

# Every screen rendered offscreen to docs/screenshots/ (both languages, both text sizes),
# and the hall display (landscape, portrait, a zone) in headless Chromium against a demo server.
screenshots: setup
	QT_QPA_PLATFORM=offscreen $(BIN)/branchq screenshots --out docs/screenshots

# The kiosk as a one-folder bundle, dist/branchq-kiosk/ (see kiosk.spec); about 20 s.
# Check it with: QT_QPA_PLATFORM=offscreen dist/branchq-kiosk/branchq-kiosk --self-test
kiosk-bundle: setup
	$(BIN)/pyinstaller kiosk.spec --noconfirm --distpath dist --workpath build/pyinstaller

format: setup
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

clean:
	rm -rf $(VENV) .system-deps.stamp var .pytest_cache .mypy_cache .ruff_cache build dist
