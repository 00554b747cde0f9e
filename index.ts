// Entry point of the Pulumi program: the stack outputs are the properties of this module.
import { defineStack } from "./program";

export = defineStack();
