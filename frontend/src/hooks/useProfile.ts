// The signed-in patient's onboarding as the gateway has it (devices, contacts, doctor).
import { useCallback, useEffect, useState } from 'react';
import { useDapp } from '../context';
import { describeError } from '../lib/errors';
import { profileOf, type Profile } from '../lib/gatewayPatients';

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
  return { profile, error, reload };
}
