"""What reads the record across every app: the evidence bundle, the timeline (HTML and PDF)
and the verifiers (`handover verify BUNDLE`, `handover verify --log`). It sits above the domain
apps and below the interface; the evidence core it reads never imports it."""
