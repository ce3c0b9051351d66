/**
 * Plain words for why the camera cannot scan, each with what to do next. The QR link opened by
 * the phone's own camera app and the paste form are always there as ways around.
 */
export const CAMERA_PROBLEMS = {
  insecure:
    'The camera only works when this app is opened over HTTPS (or on localhost). Open the QR code with your phone\u2019s own camera app instead, or paste the QR text.',
  absent: 'No camera was found on this device. Open the QR code with another phone\u2019s camera app, or paste the QR text.',
  refused:
    'Camera access was refused. Allow the camera for this site in your browser\u2019s settings, then tap \u201cTry again\u201d. Or open the QR code with your phone\u2019s camera app.',
  busy: 'The camera is in use by another app. Close that app, then tap \u201cTry again\u201d.',
  failed: 'The camera could not be started. Tap \u201cTry again\u201d, or paste the QR text.',
} as const;
export type CameraProblem = keyof typeof CAMERA_PROBLEMS;

/** Classifies what `getUserMedia` / qr-scanner threw. */
export function cameraProblemOf(error: unknown): CameraProblem {
  const name = error instanceof DOMException ? error.name : '';
  const text = String(error instanceof Error ? error.message : error);
  if (name === 'NotAllowedError' || name === 'SecurityError' || /denied|not allowed|permission/i.test(text)) return 'refused';
  if (name === 'NotFoundError' || name === 'OverconstrainedError' || /not found|no camera/i.test(text)) return 'absent';
  if (name === 'NotReadableError' || name === 'AbortError') return 'busy';
  return 'failed';
}
