// The current route, following the address bar (back/forward, links from emails, typed addresses).
import { useEffect, useState } from 'react';
import { parseRoute, type Route } from '../lib/routes';

export function useRoute(target: Window = window): Route {
  const [route, setRoute] = useState<Route>(() => parseRoute(target.location.hash));
  useEffect(() => {
    const follow = () => {
      setRoute(parseRoute(target.location.hash));
      target.scrollTo?.(0, 0);
    };
    target.addEventListener('hashchange', follow);
    return () => target.removeEventListener('hashchange', follow);
  }, [target]);
  return route;
}
