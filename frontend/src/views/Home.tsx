// Where a person starts: which role they come in, and the first step of each.
import { hrefOf } from '../lib/routes';

export function Home() {
  return (
    <div className="grid" data-testid="home">
      <section className="card">
        <h2>I wear a heart monitor</h2>
        <p>Pair your wearable, choose who gets your alerts and your doctor, then decide who may buy which of your data, and at what price. You can erase it all.</p>
        <a className="btn" href={hrefOf({ name: 'onboarding' })}>Set up my account</a>{' '}
        <a className="btn btn-flat" href={hrefOf({ name: 'heart' })}>My heart data</a>
      </section>
      <section className="card">
        <h2>I am a doctor</h2>
        <p>See the patients who linked you: their heart rate, screening results and alerts, live.</p>
        <a className="btn" href={hrefOf({ name: 'doctor' })}>My patients</a>
      </section>
      <section className="card">
        <h2>I do research</h2>
        <p>Find datasets, ask patients for consent, pay into escrow, and read what you bought — every access is logged on-chain.</p>
        <a className="btn" href={hrefOf({ name: 'research' })}>Request access</a>{' '}
        <a className="btn btn-flat" href={hrefOf({ name: 'datasets' })}>Datasets</a>
      </section>
    </div>
  );
}
