/** The webmail's entry point: styles, strings, and the app mounted on #app. */
import { render } from "preact";
import "./styles.css";
import { App } from "./app.tsx";

render(<App />, document.getElementById("app")!);
