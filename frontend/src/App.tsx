// The shell: app bar with the wallet, the role navigation, and the page the address names.
import type { ReactNode } from 'react';
import { useDapp } from './context';
import { RoleNav } from './components/RoleNav';
import { WalletBar } from './components/WalletBar';
import { useRoute } from './hooks/useRoute';
import type { LedgerEvent } from './lib/events';
import { consentRequests } from './lib/derive';
import { ROLE_OF, type Role, type Route } from './lib/routes';
import { Home } from './views/Home';
import { RequestPage } from './views/RequestPage';
import { DoctorPage } from './views/doctor/DoctorPage';
import { PatientPage } from './views/doctor/PatientPage';
import { AccessPage } from './views/patient/AccessPage';
import { ConsentsPage } from './views/patient/ConsentsPage';
import { DataClassesPage } from './views/patient/DataClassesPage';
import { EarningsPage } from './views/patient/EarningsPage';
import { ErasurePage } from './views/patient/ErasurePage';
import { HeartPage } from './views/patient/HeartPage';
import { OnboardingPage } from './views/patient/OnboardingPage';
import { ConfirmEmailPage } from './views/ConfirmEmailPage';
import { StopEmailsPage } from './views/StopEmailsPage';
import { RequestsPage } from './views/patient/RequestsPage';
import { DatasetsPage } from './views/researcher/DatasetsPage';
import { PurchasePage, PurchasesPage } from './views/researcher/PurchasesPage';
import { ResearchPage } from './views/researcher/ResearchPage';

/** The role whose navigation shows: the route's own, or for shared addresses the connected wallet's part in them. */
export function roleFor(route: Route, account: string | null, events: readonly LedgerEvent[]): Role | null {
  const fixed = ROLE_OF[route.name];
  if (fixed || !account) return fixed;
  const me = account.toLowerCase();
  if (route.name === 'patient') return route.address.toLowerCase() === me ? 'patient' : 'doctor';
  if (route.name === 'request') {
    const request = consentRequests(events).find((r) => r.id === route.id);
    return request?.requester.toLowerCase() === me ? 'researcher' : 'patient';
  }
  return null;
}

function page(route: Route): ReactNode {
  switch (route.name) {
    case 'home': return <Home />;
    case 'heart': return <HeartPage at={route.at} />;
    case 'onboarding': return <OnboardingPage device={route.device} code={route.code} />;
    case 'confirm-email': return <ConfirmEmailPage token={route.token} />;
    case 'stop-emails': return <StopEmailsPage owner={route.owner} email={route.email} token={route.token} />;
    case 'requests': return <RequestsPage />;
    case 'request': return <RequestPage id={route.id} />;
    case 'earnings': return <EarningsPage />;
    case 'access': return <AccessPage />;
    case 'consents': return <ConsentsPage />;
    case 'data-classes': return <DataClassesPage />;
    case 'erasure': return <ErasurePage />;
    case 'research': return <ResearchPage patient={route.patient} />;
    case 'purchases': return <PurchasesPage />;
    case 'purchase': return <PurchasePage id={route.id} />;
    case 'datasets': return <DatasetsPage />;
    case 'doctor': return <DoctorPage />;
    case 'patient': return <PatientPage address={route.address} at={route.at} />;
    case 'not-found': return <section className="card"><h2>Page not found</h2><p>Nothing lives at “#/{route.path}”. <a href="#/">Start here</a>.</p></section>;
  }
}

export function App() {
  const { wallet, ledger, config } = useDapp();
  const route = useRoute();
  const role = roleFor(route, wallet.account, ledger.events);
  // The start page, the pages emailed links open for a mailbox (confirm an address, stop alerts:
  // its owner may have no wallet) and unknown addresses need no wallet; every other page acts
  // for the wallet.
  const needsWallet = !['home', 'not-found', 'confirm-email', 'stop-emails'].includes(route.name);
  return (
    <>
      <header className="appbar">
        <a className="brand" href="#/"><h1>PulseLedger</h1></a>
        <WalletBar />
      </header>
      <RoleNav route={route} role={role} />
      <main id="view" data-route={route.name}>
        {!config.contract && <p className="tx tx-failed" role="alert">No PulseLedger deployment is configured: run `pulseledger up`, then `npm run gen`, or serve a config.json.</p>}
        {ledger.error && <p className="tx tx-failed" role="alert">{ledger.error}</p>}
        {needsWallet && wallet.status !== 'ready'
          ? <p className="card" data-testid="connect-first">Connect a wallet on {config.chainName} to continue: this page acts for your wallet’s address.</p>
          : page(route)}
      </main>
    </>
  );
}
