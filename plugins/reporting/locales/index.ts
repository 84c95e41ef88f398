// The reporting plugin's translations (namespace "reporting"), one file per shipped locale.
import type { PluginTranslations } from "../../../app/plugins/sdk.server";
import en from "./en.json";
import fr from "./fr.json";
import es from "./es.json";
import de from "./de.json";
import it from "./it.json";
import pt from "./pt.json";
import nl from "./nl.json";
import hu from "./hu.json";
import ar from "./ar.json";
import zh from "./zh.json";

export const translations: PluginTranslations = { en, fr, es, de, it, pt, nl, hu, ar, zh };
