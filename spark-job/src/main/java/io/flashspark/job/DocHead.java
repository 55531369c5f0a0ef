package io.flashspark.job;

import java.io.Serializable;

/** One attention problem of the input: a document's head. */
public record DocHead(String docId, int head) implements Serializable, Comparable<DocHead> {
  @Override public int compareTo(DocHead o) {
    int c = docId.compareTo(o.docId);
    return c != 0 ? c : Integer.compare(head, o.head);
  }

  @Override public String toString() {
    return "doc '" + docId + "' head " + head;
  }
}
