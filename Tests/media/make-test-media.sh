#!/usr/bin/env bash
# Writes small test media into DIR (default ./test-media) with ffmpeg, instead of keeping
# binaries in the repository; the tests make the same kinds themselves (IVFFileTests,
# RecordingMediaTests, OggOpusTests, Tests/browser/media.py):
#   clip-vp8.ivf, clip-vp9.ivf, clip-av1.ivf  320x240, 15 fps, 2 s, a keyframe every 10 frames:
#                                             `tandem join CODE --source clip-vp8.ivf` streams one
#   clip.h264                                 the same as H.264 Annex-B with access-unit delimiters
#   camera-720p.y4m                           1280x720, 15 fps, 2 s of moving pattern with noise:
#                                             Chromium's fake camera (--use-file-for-fake-video-capture)
#   tone-440.wav                              10 s of 440 Hz, 48 kHz mono: a fake microphone
#                                             (--use-file-for-fake-audio-capture)
set -euo pipefail
dir=${1:-test-media}
mkdir -p "$dir"
pattern=(-f lavfi -i testsrc2=size=320x240:rate=15 -t 2 -g 10)
ffmpeg -loglevel error -y "${pattern[@]}" -c:v libvpx -b:v 300k "$dir/clip-vp8.ivf"
ffmpeg -loglevel error -y "${pattern[@]}" -c:v libvpx-vp9 -b:v 300k "$dir/clip-vp9.ivf"
ffmpeg -loglevel error -y "${pattern[@]}" -c:v libaom-av1 -b:v 300k -cpu-used 8 "$dir/clip-av1.ivf"
ffmpeg -loglevel error -y "${pattern[@]}" -c:v libx264 -x264-params aud=1 -bsf:v h264_mp4toannexb -f h264 "$dir/clip.h264"
ffmpeg -loglevel error -y -f lavfi -i testsrc2=size=1280x720:rate=15 -vf noise=alls=8:allf=t -t 2 -pix_fmt yuv420p "$dir/camera-720p.y4m"
ffmpeg -loglevel error -y -f lavfi -i sine=frequency=440:sample_rate=48000 -t 10 -ac 1 "$dir/tone-440.wav"
ls -l "$dir"
