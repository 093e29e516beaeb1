// Sign-in with an API token, kept in localStorage; who the server says the caller is.
import { Api, ApiError, type Me } from './api';

const KEY = 'truce.token';

export function storedToken(): string | null {
  try {
    return localStorage.getItem(KEY);
  } catch {
    return null;
  }
}

export function storeToken(token: string | null): void {
  if (token) localStorage.setItem(KEY, token);
  else localStorage.removeItem(KEY);
}

// Checks a token with the server: the caller it stands for, or an error message to show.
export async function checkToken(token: string): Promise<{ me: Me } | { error: string }> {
  const t = token.trim();
  if (!/^[0-9a-fA-F]{16,128}$/.test(t)) return { error: 'A token is the 64 hex characters `truce user add` printed.' };
  try {
    const me = await new Api(t).me();
    if (me.credentials !== 'valid' || !me.role) return { error: 'The server did not accept this token.' };
    return { me };
  } catch (e) {
    return { error: 'Cannot reach the server: ' + (e instanceof ApiError ? e.message : (e as Error).message) };
  }
}

export function canReview(me: Me | null): boolean {
  return !!me && (me.role === 'analyst' || me.role === 'admin');
}
