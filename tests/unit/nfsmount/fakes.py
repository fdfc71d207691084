"""What the nfsmount unit tests share: a clock they move by hand."""


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now
