// The signed-in patient's onboarding as the gateway has it (devices, contacts, doctor). While an
// address waits for its mailbox's confirmation, read again now and then and when the tab gets
// focus back: its owner confirms from their mail, elsewhere, and the steps should show it.
import { useCallback, useEffect, useState } from 'react';
import { useDapp } from '../context';
import { describeError } from '../lib/errors';
import { profileOf, type Profile } from '../lib/gatewayPatients';

const WAITING_POLL_MS = 3000;

export function useProfile(enabled: boolean) {
  const { gateway, wallet } = useDapp();
  const [profile, setProfile] = useState<Profile | null>(null);
  const [error, setError] = useState<string | null>(null);
  const owner = wallet.account;
  const reload = useCallback(async () => {
    if (!enabled || !owner) return;
    try {
      setProfile(await profileOf(gateway, owner));
      setError(null);
    } catch (caught) {
      setError(describeError(caught));
    }
  }, [enabled, owner, gateway]);
  useEffect(() => {
    void reload();
  }, [reload]);
  const waiting = (profile?.waiting.length ?? 0) > 0;
  useEffect(() => {
    if (!waiting) return;
    const timer = setInterval(() => void reload(), WAITING_POLL_MS);
    const onFocus = () => void reload();
    window.addEventListener('focus', onFocus);
    return () => { clearInterval(timer); window.removeEventListener('focus', onFocus); };
  }, [waiting, reload]);
  return { profile, error, reload };
}
