// An independent load generator: simulated Plivo callers in Node.js, for the servers that
// one Python generator core cannot keep up with (about 350 real-time calls).
//
//   node --experimental-websocket bench/loadgen_node.mjs --url ws://127.0.0.1:8765/stream \
//        --calls 450 --duration 10 [--ramp 2] [--settle 1] [--grace 1]
//
// Node 22+ has WebSocket without the flag. Every call opens a WebSocket, sends a Plivo
// `start`, then one 20 ms µ-law `media` frame every 20 ms (calls spread evenly over the
// 20 ms period). The payload's first six bytes tag the frame (4 bytes frame number, 2 bytes
// call number), so an echoed `media` or a `playAudio` with the same payload is matched to
// the frame it answers. Prints one JSON object on stdout: frames sent and echoed (loss is
// counted over the whole run), echo round trips of the frames sent in the measured window,
// and the ticker's own lateness (when that is high, the generator was the bottleneck).
// It shares no code with the Python generator (bench/loadgen.py): a second opinion.

const args = Object.fromEntries(
  process.argv.slice(2).reduce((pairs, value, index, all) => {
    if (value.startsWith("--")) pairs.push([value.slice(2), all[index + 1]]);
    return pairs;
  }, []),
);
const url = args.url;
const calls = Number(args.calls ?? 100);
const duration = Number(args.duration ?? 10) * 1000;
const ramp = Number(args.ramp ?? 2) * 1000;
const settle = Number(args.settle ?? 1) * 1000;
const grace = Number(args.grace ?? 1) * 1000;
const FRAME_MS = 20;
const maxFrames = Math.ceil((ramp + settle + duration) / FRAME_MS) + 10;

const now = () => performance.now();
const t0 = now();
const windowStart = t0 + ramp + settle;
const windowEnd = windowStart + duration;

const rtts = [];
const lateness = [];
const errors = {};
let sent = 0;
let received = 0;
let connected = 0;

function fail(kind) {
  errors[kind] = (errors[kind] ?? 0) + 1;
}

function startMessage(n) {
  return JSON.stringify({
    event: "start",
    sequenceNumber: 1,
    start: {
      callId: `node-call-${n}`,
      streamId: `node-stream-${n}`,
      accountId: "MA0000000000000000",
      tracks: ["inbound"],
      mediaFormat: { encoding: "audio/x-mulaw", sampleRate: 8000 },
    },
    extra_headers: "",
  });
}

class Caller {
  constructor(n) {
    this.n = n;
    this.seq = 0;
    this.sentAt = new Float64Array(maxFrames);
    this.payload = Buffer.alloc(160, 0xff);
    this.payload.writeUInt16BE(n, 4);
    this.open = false;
    this.ws = new WebSocket(url);
    this.ws.onopen = () => {
      connected += 1;
      this.open = true;
      this.ws.send(startMessage(n));
    };
    this.ws.onmessage = (event) => this.onMessage(event.data, now());
    this.ws.onerror = () => fail("websocket error");
    this.ws.onclose = (event) => {
      if (this.open && now() < windowEnd) fail(`closed ${event.code} early`);
      this.open = false;
    };
  }

  sendFrame(at) {
    if (!this.open || this.seq >= maxFrames) return;
    const seq = this.seq++;
    this.payload.writeUInt32BE(seq, 0);
    this.sentAt[seq] = at;
    sent += 1;
    this.ws.send(
      `{"event":"media","sequenceNumber":${seq + 2},"streamId":"node-stream-${this.n}",` +
        `"media":{"track":"inbound","timestamp":"${seq * FRAME_MS}","chunk":${seq + 1},` +
        `"payload":"${this.payload.toString("base64")}"}}`,
    );
  }

  onMessage(data, at) {
    if (typeof data !== "string") return fail("binary message");
    let message;
    try {
      message = JSON.parse(data);
    } catch {
      return fail("bad json");
    }
    if (message.event !== "playAudio" && message.event !== "media") return;
    const audio = Buffer.from(message.media.payload, "base64");
    if (audio.length < 6 || audio.readUInt16BE(4) !== this.n) return fail("mismatched");
    const seq = audio.readUInt32BE(0);
    const sentAt = this.sentAt[seq];
    received += 1;
    if (sentAt >= windowStart && sentAt < windowEnd) rtts.push((at - sentAt) / 1000);
  }
}

// 20 buckets, one per millisecond of the frame period; bucket b sends at b ms + k * 20 ms.
const buckets = Array.from({ length: FRAME_MS }, () => []);
const callers = [];
for (let n = 0; n < calls; n++) {
  setTimeout(() => {
    const caller = new Caller(n);
    callers.push(caller);
    buckets[n % FRAME_MS].push(caller);
  }, (ramp * n) / calls);
}

let nextDue = t0;
let nextBucket = 0;
const ticker = setInterval(() => {
  const at = now();
  if (at >= windowEnd) {
    clearInterval(ticker);
    setTimeout(finish, grace);
    return;
  }
  while (nextDue <= at) {
    if (nextDue >= windowStart) lateness.push((at - nextDue) / 1000);
    for (const caller of buckets[nextBucket]) caller.sendFrame(at);
    nextBucket = (nextBucket + 1) % FRAME_MS;
    nextDue += 1;
  }
}, 1);

function finish() {
  for (const caller of callers) if (caller.open) caller.ws.close(1000, "done");
  process.stdout.write(
    JSON.stringify({ calls, connected, sent, received, rtts, lateness, errors }) + "\n",
  );
  setTimeout(() => process.exit(0), 200);
}
