import { hrefOf, type Role, type Route } from '../lib/routes';

const ROLES: { role: Role; label: string; home: Route }[] = [
  { role: 'patient', label: 'Patient', home: { name: 'heart' } },
  { role: 'doctor', label: 'Doctor', home: { name: 'doctor' } },
  { role: 'researcher', label: 'Researcher', home: { name: 'research' } },
];

const PAGES: Record<Role, { label: string; route: Route }[]> = {
  patient: [
    { label: 'Heart', route: { name: 'heart' } }, { label: 'Requests', route: { name: 'requests' } },
    { label: 'Earnings', route: { name: 'earnings' } }, { label: 'Access log', route: { name: 'access' } },
    { label: 'Consent history', route: { name: 'consents' } }, { label: 'Data & prices', route: { name: 'data-classes' } },
    { label: 'Account', route: { name: 'onboarding' } }, { label: 'Erase', route: { name: 'erasure' } },
  ],
  doctor: [{ label: 'My patients', route: { name: 'doctor' } }],
  researcher: [
    { label: 'Request access', route: { name: 'research' } }, { label: 'Datasets', route: { name: 'datasets' } },
    { label: 'Purchases', route: { name: 'purchases' } },
  ],
};

/** Two rows of links: the role, then its pages. `aria-current` marks where the reader is. */
export function RoleNav({ route, role }: { route: Route; role: Role | null }) {
  return (
    <nav aria-label="Main">
      <ul className="tabs">
        {ROLES.map((r) => (
          <li key={r.role}><a className={role === r.role ? 'tab active' : 'tab'} href={hrefOf(r.home)} aria-current={role === r.role ? 'true' : undefined}>{r.label}</a></li>
        ))}
      </ul>
      {role && (
        <ul className="subnav">
          {PAGES[role].map((p) => (
            <li key={p.label}><a href={hrefOf(p.route)} aria-current={p.route.name === route.name ? 'page' : undefined}>{p.label}</a></li>
          ))}
        </ul>
      )}
    </nav>
  );
}
