package org.mutablemodules.spark;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

/** The Spark example trains its hypernetwork: the loss falls and unseen tasks are fitted better than untrained. */
class SparkHypernetworkTest {

    @Test
    void theHypernetworkLearnsTheTasksOnSpark() {
        ByteArrayOutputStream printed = new ByteArrayOutputStream();
        SparkHypernetwork.Result r = SparkHypernetwork.run(LocalSpark.session(), 4_000, 60,
                new PrintStream(printed, true, StandardCharsets.UTF_8));
        assertEquals(60, r.losses().length);
        assertTrue(r.losses()[59] < 0.5 * r.losses()[0], r.losses()[0] + " -> " + r.losses()[59]);
        assertTrue(r.unseenAfter() < 0.5 * r.unseenBefore(), r.unseenBefore() + " -> " + r.unseenAfter());
        String text = printed.toString(StandardCharsets.UTF_8);
        assertTrue(text.contains("60 steps over 4,000 rows in 8 partitions on local[2,2]"), text);
    }
}
