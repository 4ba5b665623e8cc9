// Proofs as QR codes (docs/proofs.md, "Text form"): a proof's text form,
// `EHRP:` + base45, is drawn as one alphanumeric-mode QR segment at error
// correction level M, with the 4-module quiet zone readers expect; and a QR
// code is read back from an image file or a camera frame.
//
// The encoder is qrcode-generator and the decoder jsQR, both pinned in
// package.json / package-lock.json beside this file and served from
// node_modules (`npm ci --prefix examples/web`): jsQR is a UMD script that
// index.html loads before the portal, as `window.jsQR`.
import qrcode from "./node_modules/qrcode-generator/dist/qrcode.mjs";

/** Pixels per module of a drawn code. */
const MODULE_PX = 4;
/** The quiet zone around a code, in modules (ISO/IEC 18004). */
const QUIET_ZONE = 4;

/** A canvas with `text` (a proof's `EHRP:` text) as a QR code. */
export function qrCanvas(text) {
  const code = qrcode(0, "M");
  code.addData(text, "Alphanumeric");
  code.make();
  const modules = code.getModuleCount();
  const canvas = document.createElement("canvas");
  canvas.width = canvas.height = (modules + 2 * QUIET_ZONE) * MODULE_PX;
  const g = canvas.getContext("2d");
  g.fillStyle = "#fff";
  g.fillRect(0, 0, canvas.width, canvas.height);
  g.fillStyle = "#000";
  for (let row = 0; row < modules; row += 1) {
    for (let col = 0; col < modules; col += 1) {
      if (code.isDark(row, col)) g.fillRect((col + QUIET_ZONE) * MODULE_PX, (row + QUIET_ZONE) * MODULE_PX, MODULE_PX, MODULE_PX);
    }
  }
  canvas.dataset.modules = String(modules);
  return canvas;
}

/**
 * The text of the QR code in `source` (an image, an ImageBitmap or a
 * playing video), or `undefined` when it shows none.
 */
export function readQr(source, width, height) {
  const canvas = document.createElement("canvas");
  canvas.width = width;
  canvas.height = height;
  const g = canvas.getContext("2d", { willReadFrequently: true });
  g.drawImage(source, 0, 0, width, height);
  const { data } = g.getImageData(0, 0, width, height);
  return window.jsQR(data, width, height)?.data;
}

/** The text of the QR code in an image file, or `undefined`. */
export async function readQrFile(file) {
  const bitmap = await createImageBitmap(file);
  try {
    return readQr(bitmap, bitmap.width, bitmap.height);
  } finally {
    bitmap.close();
  }
}

/**
 * Watches the camera until a frame shows a QR code whose text starts with
 * `prefix`, and returns that text; `undefined` when `signal` aborts first.
 * Shows the camera in `video` meanwhile.
 */
export async function scanCamera(video, prefix, signal) {
  const stream = await navigator.mediaDevices.getUserMedia({ video: { facingMode: "environment" } });
  video.srcObject = stream;
  video.hidden = false;
  try {
    await video.play();
    while (!signal.aborted) {
      const text = video.videoWidth > 0 ? readQr(video, video.videoWidth, video.videoHeight) : undefined;
      if (text?.startsWith(prefix)) return text;
      await new Promise((resolve) => setTimeout(resolve, 150));
    }
    return undefined;
  } finally {
    for (const track of stream.getTracks()) track.stop();
    video.srcObject = null;
    video.hidden = true;
  }
}
