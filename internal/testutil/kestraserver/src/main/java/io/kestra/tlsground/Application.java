package io.kestra.tlsground;

import io.micronaut.runtime.Micronaut;

/** Starts Micronaut as Kestra's server does: its configuration from the classpath and MICRONAUT_CONFIG_FILES. */
public class Application {
    public static void main(String[] args) {
        Micronaut.run(Application.class, args);
    }
}
