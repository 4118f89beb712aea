/** The app shell (placeholder until the webmail issue's UI lands). */
export function App() {
  return <main>postkontor webmail</main>;
}
