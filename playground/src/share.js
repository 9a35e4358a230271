// The whole playground state in the URL fragment: JSON, deflated (CompressionStream),
// base64url. `#s=` marks a compressed state, `#j=` an uncompressed one (browsers without
// CompressionStream). Nothing leaves the page: a fragment is never sent to a server.

const FIELDS = ["object", "settings", "mode", "level", "version", "preset"];

function toBase64Url(bytes) {
  let binary = "";
  for (let i = 0; i < bytes.length; i += 0x8000) {
    binary += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  }
  return btoa(binary).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

function fromBase64Url(text) {
  const binary = atob(text.replace(/-/g, "+").replace(/_/g, "/"));
  return Uint8Array.from(binary, (c) => c.charCodeAt(0));
}

async function pipe(bytes, stream) {
  const response = new Response(new Blob([bytes]).stream().pipeThrough(stream));
  return new Uint8Array(await response.arrayBuffer());
}

/// The fragment (without `#`) for `state`.
export async function encodeState(state) {
  const picked = Object.fromEntries(FIELDS.map((key) => [key, state[key] ?? ""]));
  const bytes = new TextEncoder().encode(JSON.stringify(picked));
  if (typeof CompressionStream === "function") {
    return `s=${toBase64Url(await pipe(bytes, new CompressionStream("deflate-raw")))}`;
  }
  return `j=${toBase64Url(bytes)}`;
}

/// The state in `fragment` (with or without `#`), or null when it holds none.
export async function decodeState(fragment) {
  const text = fragment.replace(/^#/, "");
  const [, kind, payload] = /^([sj])=(.*)$/.exec(text) ?? [];
  if (!kind) return null;
  try {
    let bytes = fromBase64Url(payload);
    if (kind === "s") bytes = await pipe(bytes, new DecompressionStream("deflate-raw"));
    const value = JSON.parse(new TextDecoder().decode(bytes));
    if (typeof value !== "object" || value === null) return null;
    return Object.fromEntries(FIELDS.map((key) => [key, typeof value[key] === "string" ? value[key] : ""]));
  } catch {
    return null;
  }
}
