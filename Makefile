# The README's two commands. Both install what is missing (Debian packages, a .venv, the
# package) and are safe to re-run: a second run installs nothing.
#   make demo   the live visualizer on the bundled demo track, a set list of five looks
#               (headless -> demo.mp4)
#   make test   the test suite's fast path (what CI runs): every test not marked `slow`
#   make test-all   every test, the slow ones too

SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

# Debian packages: PortAudio headers (pyaudio builds against them), ALSA's pulse plugin and a
# PulseAudio daemon (live audio, tests), Xvfb and Mesa EGL/GL (windows and headless GL),
# ffmpeg (ffprobe checks recordings in tests), xdotool (window tests send keys), x11-xserver-utils
# (xsetroot: bench.latency_rig paints the root window as its video reference), compilers for
# aubio/pyaudio, venv, librsvg2-bin (rsvg-convert draws SVG wallpapers for the debian-art
# source), jackd2 (a JACK server with a dummy driver gives MIDI tests real
# RtMidi ports where the ALSA sequencer is missing, as in containers), and chromium (the web
# remote's tests drive it through Playwright, which cannot download its own browser here), and
# redis-server (the job tests start one: many workers on one Redis queue).
APT_PACKAGES := portaudio19-dev libasound2-plugins pulseaudio pulseaudio-utils xvfb xdotool \
	libegl1 libegl-mesa0 libgl1-mesa-dri libgl1 ffmpeg build-essential python3-dev python3-venv \
	librsvg2-bin jackd2 chromium redis-server x11-xserver-utils
# Only `make bench` needs these: fluidsynth renders the benchmark's music from MIDI, espeak-ng
# the speech over music of the onset evaluation.
BENCH_APT_PACKAGES := fluidsynth fluid-soundfont-gm espeak-ng

# Machines without an NVIDIA GPU (CI, laptops) take the CPU build of torch: from the wheel on
# disk when there is one, else from PyTorch's CPU index. GPU machines get the normal CUDA build.
ifeq ($(shell command -v nvidia-smi),)
PIP_TORCH := -c constraints-cpu.txt $(if $(wildcard /opt/wheels/torch-*),--find-links /opt/wheels,--extra-index-url https://download.pytorch.org/whl/cpu)
endif

.PHONY: demo test test-all bench system-packages bench-packages clean

# The live show on the bundled demo track and default model: in a window when there is a
# display (Esc quits), else headless through EGL, recorded to demo.mp4. The headless take is
# 640x360 with x264's fastest preset so a 2-core machine records it without dropping frames.
# A set list plays a look per section of the track (a 2-bar intro, then four 4-bar sections at
# 124 BPM): symmetry, kaleido_bloom, prism, dream_trails, then strobe_club for the drop. With
# tempi from 60 BPM the tracker hears the drum-less breakdown at 62 and the phrases fall two bars
# behind; from 80 it stays at 124 and every switch lands on its section.
DEMO_SETLIST := --setlist symmetry,kaleido_bloom,prism,dream_trails,strobe_club --phrase-bars 4 \
	--set setlist.first_bars=2 --set setlist.loop=false --set audio.min_bpm=80
demo: $(STAMP)
	@if [ -n "$$DISPLAY$$WAYLAND_DISPLAY" ]; then \
		$(BIN)/gansmania live --input demo $(DEMO_SETLIST); \
	else \
		$(BIN)/gansmania live --headless --input demo --duration 36 --size 640x360 $(DEMO_SETLIST) \
			--set record.preset=ultrafast --record demo.mp4 --stats demo.stats.json && \
		echo "demo: no display here, so the show ran headless and was recorded to $(CURDIR)/demo.mp4"; \
	fi

test: $(STAMP)
	$(BIN)/ruff check
	$(BIN)/python -m pytest -m "not slow"

test-all: $(STAMP)
	$(BIN)/ruff check
	$(BIN)/python -m pytest

bench: $(STAMP) bench-packages
	$(BIN)/gansmania bench --json bench/results/latest.json

system-packages:
	@$(call apt_install,$(APT_PACKAGES))

bench-packages:
	@$(call apt_install,$(BENCH_APT_PACKAGES))

$(STAMP): pyproject.toml constraints-cpu.txt | system-packages
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip setuptools wheel
	$(BIN)/python -m pip install $(PIP_TORCH) -e '.[dev,web,ndi]'
	@touch $@

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache

# Install the Debian packages in $(1) that are not installed yet; nothing when all are there.
define apt_install
	if ! command -v dpkg-query >/dev/null; then \
		echo "not a Debian system: make sure these are installed: $(1)"; exit 0; fi; \
	missing=$$(for p in $(1); do \
		dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | grep -q 'install ok installed' || echo $$p; done); \
	if [ -n "$$missing" ]; then \
		sudo=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
		echo "installing Debian packages:" $$missing; \
		$$sudo apt-get update -q && DEBIAN_FRONTEND=noninteractive $$sudo apt-get install -y -q --no-install-recommends $$missing; \
	fi
endef
