# GANsmania for NVIDIA GPU hosts: the studio (`gansmania web`), its render workers (`gansmania
# worker`) and training (`gansmania train`), one image; docs/deploy.md says how to run it.
#
#   docker build -t gansmania .
#   docker run --rm --gpus all gansmania bench
#
# torch's PyPI wheels (2.13: CUDA 13) and TensorRT 10 (the `trt` extra: tensorrt_cu13) carry
# their own CUDA libraries; the base image matches their CUDA major version, and the host needs
# an NVIDIA driver that runs CUDA 13 (R580 or newer) and the NVIDIA Container Toolkit.
ARG CUDA_IMAGE=nvidia/cuda:13.0.2-runtime-ubuntu24.04

# ---- build: compilers and headers for the packages without wheels (PyAudio, aubio)
FROM ${CUDA_IMAGE} AS build
ENV DEBIAN_FRONTEND=noninteractive \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1
# The base image pins the distribution (Ubuntu 24.04); its package versions follow it.
# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install -y --no-install-recommends \
        python3 python3-venv python3-dev build-essential portaudio19-dev \
    && rm -rf /var/lib/apt/lists/*
RUN python3 -m venv /opt/venv
COPY pyproject.toml README.md /src/
COPY visualizer /src/visualizer
COPY training /src/training
COPY engine_build /src/engine_build
COPY scraping /src/scraping
COPY presets /src/presets
COPY shaders /src/shaders
COPY models /src/models
# A wheel install: presets, shaders and models land in /opt/venv/share/gansmania.
RUN /opt/venv/bin/pip install --upgrade pip \
    && /opt/venv/bin/pip install "/src[web,trt]"

# ---- runtime: the virtualenv and the shared libraries it loads, no compilers
FROM ${CUDA_IMAGE}
# graphics: the driver's EGL for headless rendering; video: NVENC for recording (FFmpeg comes
# inside PyAV's wheel, which loads the driver's encoder library when the GPU has one).
ENV NVIDIA_DRIVER_CAPABILITIES=compute,utility,graphics,video \
    DEBIAN_FRONTEND=noninteractive \
    PYTHONUNBUFFERED=1 \
    HOME=/home/gansmania \
    PATH=/opt/venv/bin:$PATH
# libegl1/libgl1/libgles2: the GL vendor-neutral dispatch (glvnd) that finds the driver's EGL;
# Mesa's EGL and llvmpipe: the same image renders on a machine without a GPU, slower.
# libportaudio2, libasound2t64: PyAudio and RtMidi; libsndfile1: soundfile.
# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install -y --no-install-recommends \
        python3 libegl1 libgl1 libgles2 libegl-mesa0 libgl1-mesa-dri \
        libportaudio2 libasound2t64 libsndfile1 ca-certificates \
    && rm -rf /var/lib/apt/lists/*
# The NVIDIA Container Toolkit mounts libEGL_nvidia with the `graphics` capability; glvnd finds
# it through this vendor file (the one NVIDIA's cudagl images carried).
RUN mkdir -p /usr/share/glvnd/egl_vendor.d \
    && printf '{"file_format_version": "1.0.0", "ICD": {"library_path": "libEGL_nvidia.so.0"}}\n' \
        > /usr/share/glvnd/egl_vendor.d/10_nvidia.json
COPY --from=build /opt/venv /opt/venv
# Not root (by number, so Kubernetes' runAsNonRoot can check it). The folders compose mounts
# volumes on exist here, owned by this user, so a new named volume starts with that owner.
RUN useradd --create-home --uid 10001 --user-group gansmania \
    && mkdir -p /data/studio /data/runs /home/gansmania/.config/gansmania/models \
    && chown -R 10001:10001 /data /home/gansmania
USER 10001
WORKDIR /home/gansmania
EXPOSE 8000
ENTRYPOINT ["gansmania"]
CMD ["--help"]
