/** Small crypto helpers shared by every layer. */
import { randomBytes, timingSafeEqual } from 'node:crypto';

/** Compares two strings in constant time (for equal lengths); false for different lengths. */
export function safeEqual(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

/** A fresh per-session form token (synchroniser pattern against cross-site requests). */
export function newCsrfToken(): string {
  return randomBytes(32).toString('base64url');
}
