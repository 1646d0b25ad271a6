// Voice capture for browsers without MediaStreamTrackProcessor (see VoiceSender in voice.js):
// runs in the AudioWorkletGlobalScope and posts the microphone's samples, mixed to mono,
// to the page in blocks of `frames` (10 ms). A module file because the CSP forbids inline code.

class TandemCapture extends AudioWorkletProcessor {
  constructor(options) {
    super();
    this.frames = options.processorOptions?.frames ?? 480;
    this.block = new Float32Array(this.frames);
    this.filled = 0;
  }

  process(inputs) {
    const channels = inputs[0] ?? [];
    if (channels.length === 0) return true;
    const length = channels[0].length;
    for (let index = 0; index < length; index += 1) {
      let sum = 0;
      for (const channel of channels) sum += channel[index];
      this.block[this.filled] = sum / channels.length;
      this.filled += 1;
      if (this.filled === this.frames) {
        // Handed over, not copied: a new block for the next samples.
        this.port.postMessage(this.block, [this.block.buffer]);
        this.block = new Float32Array(this.frames);
        this.filled = 0;
      }
    }
    return true;
  }
}

registerProcessor("tandem-capture", TandemCapture);
